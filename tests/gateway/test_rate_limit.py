"""Rate limits are shared by every gateway replica (Redis token buckets) and end the
session with RESOURCE_EXHAUSTED carrying RetryInfo."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.gateway.status import retry_after_ms
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli.client import Conversation
from tests.gateway.conftest import GatewayStack, eventually, token

LIMITS = {
    # Refills so slowly (one token per 10 s) that a slow machine cannot blur the counts.
    "RATE_LIMIT_MERCHANT_RPS": "0.1",
    "RATE_LIMIT_MERCHANT_BURST": "4",
    "RATE_LIMIT_USER_RPS": "0.1",
    "RATE_LIMIT_USER_BURST": "3",
}


@pytest.fixture(scope="module")
def replicas(gw_stack: GatewayStack) -> tuple[str, str]:
    return gw_stack.gateway(**LIMITS).address, gw_stack.gateway(**LIMITS).address


async def until_refused(sessions: list[Conversation], limit: int = 12) -> tuple[int, grpc.aio.AioRpcError]:
    """Say commands round-robin over the sessions until one is refused; how many were accepted."""
    for i in range(limit):
        try:
            turn = await sessions[i % len(sessions)].say(f"set the price of E15 to {40 + i}")
        except grpc.aio.AioRpcError as exc:
            return i, exc
        assert turn.result is not None and turn.result.status == gw.RESULT_STATUS_OK, turn.messages
    raise AssertionError(f"{limit} commands accepted: no rate limit")


def test_merchant_limit_holds_across_two_gateway_processes(gw_stack: GatewayStack, replicas: tuple[str, str]) -> None:
    merchant = gw_stack.merchant()

    async def run() -> tuple[int, grpc.aio.AioRpcError]:
        # Two users (their own buckets of 3 are not the constraint: 2 x 3 > 4) on two replicas.
        async with (
            Conversation(replicas[0], token(merchant, "owner", user="u-a")) as a,
            Conversation(replicas[1], token(merchant, "staff", user="u-b")) as b,
        ):
            return await until_refused([a, b])

    accepted, refusal = asyncio.run(run())

    # A per-process limiter would have let 4 through on each replica.
    assert accepted in (4, 5), "the merchant's burst of 4 (+1 refill at most) across both replicas"
    assert refusal.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"merchant {merchant}" in (refusal.details() or "")
    delay = retry_after_ms(refusal)
    assert delay is not None and 0 < delay <= 10_000
    assert ("retry-after-ms", str(delay)) in tuple(refusal.trailing_metadata() or ())


def test_user_limit_leaves_other_users_of_the_merchant_alone(gw_stack: GatewayStack, replicas: tuple[str, str]) -> None:
    merchant = gw_stack.merchant()

    async def run() -> tuple[int, grpc.aio.AioRpcError, gw.Result | None]:
        async with Conversation(replicas[0], token(merchant, "owner", user="chatty")) as chatty:
            accepted, refusal = await until_refused([chatty])
        async with Conversation(replicas[1], token(merchant, "owner", user="quiet")) as quiet:
            turn = await quiet.say("set the price of E15 to 45")
        return accepted, refusal, turn.result

    accepted, refusal, other = asyncio.run(run())

    assert accepted in (3, 4)
    assert refusal.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "user chatty" in (refusal.details() or "")
    assert other is not None and other.status == gw.RESULT_STATUS_OK


def test_refused_turn_is_audited_and_not_run(gw_stack: GatewayStack, replicas: tuple[str, str]) -> None:
    merchant = gw_stack.merchant()

    async def run() -> None:
        async with Conversation(replicas[0], token(merchant, "owner", user="x")) as c:
            await until_refused([c])

    asyncio.run(run())

    def refused() -> list[tuple[object, ...]]:
        return gw_stack.query(
            "SELECT ran, grpc_code FROM gateway.audit_log WHERE merchant_id = %s AND status = 'RESOURCE_EXHAUSTED'",
            merchant,
        )

    eventually(lambda: bool(refused()), what="the refused turn's audit row")
    assert refused() == [(False, "RESOURCE_EXHAUSTED")]
