"""Keys and tokens at the public door: outside development the gateway will not start with the
development key, a placeholder or a short secret; no token lives longer than the maximum; the
local stack's log files are not world-readable."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest

from shopvoice.auth import DEV_AUTH_KEYS, ISSUER, TokenVerifier, mint, new_ed25519_key, parse_keys, weak_keys
from shopvoice.errors import Unauthenticated
from shopvoice_cli.stack import open_log
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = "k1:CHANGE_ME_AT_LEAST_32_RANDOM_BYTES"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (DEV_AUTH_KEYS, "development key"),
        (PLACEHOLDER, "placeholder"),
        ("k1:hs256:0123456789abcdef0123", "20 bytes"),
        ("k1:" + "ab" * 20, "not random"),
        (f"k2:{secrets.token_urlsafe(32)},{PLACEHOLDER}", "placeholder"),
    ],
    ids=[
        "development",
        "placeholder",
        "short",
        "not-random",
        "random-then-placeholder",
    ],  # the same on every xdist worker
)
def test_weak_keys_are_named(spec: str, problem: str) -> None:
    assert problem in " ".join(weak_keys(spec))


def test_random_secrets_and_ed25519_keys_are_fit() -> None:
    signing, verifying = new_ed25519_key("k1")
    assert weak_keys(f"k1:hs256:{secrets.token_urlsafe(32)}") == []
    assert weak_keys(f"{signing},{verifying.replace('k1:', 'k0:', 1)}") == []


@pytest.mark.parametrize("spec", [DEV_AUTH_KEYS, PLACEHOLDER, "k1:short-but-16-chars"])
def test_outside_dev_mode_the_gateway_refuses_to_start_with_a_weak_key(spec: str) -> None:
    env = {
        **os.environ,
        "SHOPVOICE_DEV_MODE": "0",
        "AUTH_KEYS": spec,
        "ASR_ADDR": "",
        "SUPPORT_ADDR": "",
        "PORT": str(free_port()),
        "INTERNAL_KEYS": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.gateway"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("cannot start:") and "AUTH_KEYS" in last, done.stderr[-2000:]


def test_a_token_longer_lived_than_the_maximum_is_refused() -> None:
    keys = parse_keys(f"k1:hs256:{secrets.token_urlsafe(32)}")
    verifier = TokenVerifier(keys)
    metadata = [("authorization", f"Bearer {mint(keys, 'm', 'u', 'owner', ttl_s=3600)}")]
    assert verifier.verify(metadata).merchant_id == "m"
    century = [("authorization", f"Bearer {mint(keys, 'm', 'u', 'owner', ttl_s=100 * 365 * 86400)}")]
    with pytest.raises(Unauthenticated, match="AUTH_MAX_TOKEN_TTL_S"):
        verifier.verify(century)
    with pytest.raises(Unauthenticated, match="AUTH_MAX_TOKEN_TTL_S"):
        TokenVerifier(keys, max_ttl_s=600).verify(metadata)
    key = keys["k1"]
    no_iat = jwt.encode(
        {"iss": ISSUER, "sub": "u", "merchant_id": "m", "role": "owner", "exp": int(time.time()) + 60},
        key.sign_key,  # type: ignore[arg-type]
        algorithm="HS256",
        headers={"kid": "k1"},
    )
    with pytest.raises(Unauthenticated, match="iat"):
        verifier.verify([("authorization", f"Bearer {no_iat}")])


def test_log_files_are_0640(tmp_path: Path) -> None:
    path = tmp_path / "gateway.log"
    path.write_text("")
    path.chmod(0o644)
    with open_log(path) as log:
        log.write(b"line\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    fresh = tmp_path / "new.log"
    with open_log(fresh):
        pass
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640
