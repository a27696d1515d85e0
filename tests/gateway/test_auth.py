"""Tokens at a real gateway: HS256 and EdDSA keys, rotation by key id; forged,
expired, missing and algorithm-swapped tokens are UNAUTHENTICATED."""

from __future__ import annotations

import asyncio
import time

import grpc
import jwt
import pytest

from shopvoice.auth import DEV_AUTH_KEYS, ISSUER, mint, new_ed25519_key, parse_keys
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.gateway.v1 import gateway_pb2_grpc
from tests.gateway.conftest import GatewayStack

SIGNING, VERIFYING = new_ed25519_key("ed-2026")
OLD_HS = "old:hs256:an-older-shared-secret-being-rotated-out"


@pytest.fixture(scope="module")
def rotated(gw_stack: GatewayStack) -> str:
    """A gateway that verifies an Ed25519 public key and an older HS256 key, and nothing else."""
    return gw_stack.gateway(AUTH_KEYS=f"{VERIFYING},{OLD_HS}").address


def open_session(target: str, token: str | None) -> gw.ServerMessage | grpc.aio.AioRpcError:
    """Open a Converse call; its first reply, or the status it ended with.

    The SessionStart is sent only once the gateway has accepted the token (it checks the
    metadata before reading anything), so a refusal is never raced by the client's send.
    """

    async def run() -> gw.ServerMessage | grpc.aio.AioRpcError:
        async with grpc.aio.insecure_channel(target) as channel:
            metadata = (("authorization", f"Bearer {token}"),) if token is not None else ()
            go = asyncio.Event()

            async def requests():  # type: ignore[no-untyped-def]
                await asyncio.wait_for(go.wait(), 0.3)  # refused calls end before this
                yield gw.ClientMessage(start=gw.SessionStart())
                await asyncio.sleep(1)

            call = gateway_pb2_grpc.AssistantStub(channel).Converse(requests(), metadata=metadata)
            reading = asyncio.ensure_future(call.read())
            await asyncio.sleep(0.2)
            go.set()
            try:
                message: gw.ServerMessage = await reading
                call.cancel()
                return message
            except grpc.aio.AioRpcError as exc:
                return exc

    return asyncio.run(run())


def claims(merchant: str = "m-auth", **extra: object) -> dict[str, object]:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "u1", "merchant_id": merchant, "role": "owner", "iat": now, "exp": now + 60, **extra}


def assert_unauthenticated(outcome: object, words: str) -> None:
    assert isinstance(outcome, grpc.aio.AioRpcError), outcome
    assert outcome.code() == grpc.StatusCode.UNAUTHENTICATED
    assert words in (outcome.details() or ""), outcome.details()


def test_eddsa_token_opens_a_session_for_the_tokens_merchant(rotated: str) -> None:
    outcome = open_session(rotated, mint(parse_keys(SIGNING), "m-eddsa", "u1", "staff"))
    assert isinstance(outcome, gw.ServerMessage) and outcome.started.merchant_id == "m-eddsa"


def test_rotation_old_hs256_key_still_verifies(rotated: str) -> None:
    outcome = open_session(rotated, mint(parse_keys(OLD_HS), "m-old", "u1", "owner"))
    assert isinstance(outcome, gw.ServerMessage) and outcome.started.merchant_id == "m-old"


def test_removed_key_no_longer_verifies(rotated: str) -> None:
    assert_unauthenticated(
        open_session(rotated, mint(parse_keys(DEV_AUTH_KEYS), "m", "u", "owner")), "unknown key id 'dev'"
    )


def test_forged_signature(gw_stack: GatewayStack) -> None:
    forged = jwt.encode(
        claims(), "not-the-gateway-secret-at-all-but-long-enough", algorithm="HS256", headers={"kid": "dev"}
    )
    assert_unauthenticated(open_session(gw_stack.stack.gateway, forged), "invalid token")


def test_eddsa_token_from_another_private_key(rotated: str) -> None:
    other_signing, _ = new_ed25519_key("ed-2026")  # same kid, different key
    assert_unauthenticated(open_session(rotated, mint(parse_keys(other_signing), "m", "u", "owner")), "invalid token")


def test_algorithm_swap_to_hmac_with_the_public_key(rotated: str) -> None:
    public_material = VERIFYING.split(":", 2)[2].encode()
    swapped = jwt.encode(claims(), public_material, algorithm="HS256", headers={"kid": "ed-2026"})
    assert_unauthenticated(open_session(rotated, swapped), "invalid token")


def test_unsigned_token(gw_stack: GatewayStack) -> None:
    unsigned = jwt.encode(claims(), None, algorithm="none", headers={"kid": "dev"})  # type: ignore[arg-type]
    assert_unauthenticated(open_session(gw_stack.stack.gateway, unsigned), "invalid token")


def test_expired_token(gw_stack: GatewayStack) -> None:
    expired = mint(parse_keys(DEV_AUTH_KEYS), "m", "u", "owner", ttl_s=-5)
    assert_unauthenticated(open_session(gw_stack.stack.gateway, expired), "expired")


def test_missing_token_and_wrong_scheme(gw_stack: GatewayStack) -> None:
    assert_unauthenticated(open_session(gw_stack.stack.gateway, None), "missing bearer token")


def test_token_without_a_role_is_refused(gw_stack: GatewayStack) -> None:
    no_role = jwt.encode(
        {k: v for k, v in claims().items() if k != "role"},
        DEV_AUTH_KEYS.split(":", 1)[1],
        algorithm="HS256",
        headers={"kid": "dev"},
    )
    assert_unauthenticated(open_session(gw_stack.stack.gateway, no_role), "known role")


@pytest.mark.parametrize(
    "spec",
    ["k:short", "k:ed25519:bm90LTMyLWJ5dGVz", "k:ed25519-pub:", "", ":hs256:a-long-enough-secret-value"],
)
def test_malformed_key_configuration_fails_loudly(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_keys(spec)
