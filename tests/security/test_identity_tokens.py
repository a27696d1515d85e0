"""Internal tokens: who signs them, how long they live, how keys rotate."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import grpc
import pytest

from shopvoice import identity


def pair(service: str, kid: str) -> tuple[str, str]:
    return identity.new_service_key(service, kid)


def test_a_key_signs_only_as_its_own_service() -> None:
    _, nlu_public = pair("nlu", "k1")
    asr_private, asr_public = pair("asr", "k1")
    catalog = identity.Identity(identity.parse_keys(f"{nlu_public},{asr_public}"))
    asr = identity.Identity(identity.parse_keys(asr_private))
    # The ASR's key signs a token that says it is the NLU: mint rewrites it to the ASR...
    assert catalog.verify(asr.mint(identity.Claims("nlu", "m"))).service == "asr"
    # ...and a hand-made token claiming the NLU with the ASR's key id is refused.
    import jwt

    forged = jwt.encode(
        {"iss": identity.ISSUER, "svc": "nlu", "iat": int(time.time()), "exp": int(time.time()) + 30},
        asr.signing.private,  # type: ignore[union-attr]
        algorithm="EdDSA",
        headers={"kid": "asr:k1"},
    )
    with pytest.raises(identity.IdentityError, match="belongs to asr"):
        catalog.verify(forged)


def test_rotation_by_key_id_old_and_new_tokens_verify_until_the_old_key_goes() -> None:
    old_private, old_public = pair("nlu", "k1")
    new_private, new_public = pair("nlu", "k2")
    before = identity.Identity(identity.parse_keys(old_private))
    during = identity.Identity(identity.parse_keys(f"{new_private},{old_private}"))
    verifier = identity.Identity(identity.parse_keys(f"{old_public},{new_public}"))
    old_token = before.mint(identity.Claims("nlu", "m"))
    new_token = during.mint(identity.Claims("nlu", "m"))
    assert during.signing is not None and during.signing.kid == "nlu:k2"  # the first private key signs
    assert verifier.verify(old_token).service == verifier.verify(new_token).service == "nlu"
    after = identity.Identity(identity.parse_keys(new_public))
    with pytest.raises(identity.IdentityError, match="unknown key 'nlu:k1'"):
        after.verify(old_token)


def test_tokens_are_short_lived_and_checked_for_it() -> None:
    private, public = pair("nlu", "k1")
    signer = identity.Identity(identity.parse_keys(private))
    verifier = identity.Identity(identity.parse_keys(public))
    with pytest.raises(identity.IdentityError) as expired:
        verifier.verify(signer.mint(identity.Claims("nlu"), ttl_s=30, now=time.time() - 120))
    assert expired.value.code == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(identity.IdentityError, match="maximum"):
        verifier.verify(signer.mint(identity.Claims("nlu"), ttl_s=identity.MAX_TTL_S + 1))
    with pytest.raises(ValueError):
        identity.Identity(identity.parse_keys(private), ttl_s=3600)


def test_malformed_key_lists_fail_with_the_fix() -> None:
    for bad in ("nlu:k1:secret", "nlu:k1:ed25519:short", ":k1:ed25519-pub:AAAA"):
        with pytest.raises(ValueError, match="INTERNAL_KEYS"):
            identity.parse_keys(bad)
    nlu, _ = pair("nlu", "k1")
    asr, _ = pair("asr", "k1")
    with pytest.raises(ValueError, match="several services"):
        identity.Identity(identity.parse_keys(f"{nlu},{asr}"))


def test_without_keys_a_service_starts_only_in_dev_mode() -> None:
    with pytest.raises(SystemExit, match="INTERNAL_KEYS is not set"):
        identity.load(identity.IdentitySettings(INTERNAL_KEYS="", SHOPVOICE_DEV_MODE=False))
    assert identity.load(identity.IdentitySettings(INTERNAL_KEYS="", SHOPVOICE_DEV_MODE=True)) is None


def test_a_local_stack_leaves_the_cli_its_key_for_other_terminals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shopvoice_cli.stack import Stack, cli_keys_path, load_cli_identity

    stack = Stack(database_url="", redis_url="", run_dir=tmp_path, internal_identity=True)
    try:
        stack.make_keys()
        path = cli_keys_path(tmp_path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        identity.set_process_identity(None)
        monkeypatch.delenv("INTERNAL_KEYS", raising=False)
        load_cli_identity(tmp_path)
        cli = identity.process_identity()
        assert cli is not None and cli.service == "cli"
        catalog = identity.Identity(identity.parse_keys(stack.internal_keys["catalog"]))
        assert catalog.verify(cli.mint(identity.Claims("cli", "m"))).service == "cli"
    finally:
        identity.set_process_identity(None)
