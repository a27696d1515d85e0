"""Bearer tokens: JWT in the `authorization` metadata, HS256 or EdDSA (Ed25519), keys by key id.

AUTH_KEYS lists comma-separated keys, each `kid:ALG:MATERIAL` (or the older
`kid:secret`, which is HS256):

- `kid:hs256:SECRET`          shared secret (at least 16 characters): signs and verifies
- `kid:ed25519:BASE64URL`     a private key (the 32-byte seed): signs and verifies
- `kid:ed25519-pub:BASE64URL` a public key (32 bytes): verifies only. With EdDSA a
  gateway needs only public keys, so a leaked gateway cannot mint tokens.

Key rotation: the first key that can sign signs new tokens and every listed key
verifies, so a new key is added first and the old one removed once its tokens
have expired. Each key id is pinned to its algorithm: a token cannot choose a
weaker one (no "alg confusion" between a public key and an HMAC secret).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shopvoice.errors import Unauthenticated
from shopvoice.permissions import ROLES

ISSUER = "shopvoice"
# Development only: `shopvoice up`, the CLI and the tests use it when AUTH_KEYS is unset.
# A deployment sets AUTH_KEYS from a Secret (deploy/k8s); the gateway logs a warning otherwise.
DEV_AUTH_KEYS = "dev:shopvoice-development-key-not-for-production"
MIN_SECRET_CHARS = 16
# Outside development (SHOPVOICE_DEV_MODE) the gateway starts only with keys that pass `weak_keys`.
MIN_PRODUCTION_SECRET_BYTES = 32
MIN_DISTINCT_SECRET_BYTES = 16  # "a" * 32 is 32 bytes, not 32 random ones
PLACEHOLDER_MARKS = ("change_me", "changeme", "placeholder", "example", "secret", "password", "not-for-production")
# A token longer-lived than this is refused, whatever its exp says (AUTH_MAX_TOKEN_TTL_S).
DEFAULT_MAX_TOKEN_TTL_S = 24 * 3600
CLOCK_SKEW_S = 60  # how far in the future a token's iat may be (clocks differ)


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the verified token says."""

    merchant_id: str
    user_id: str
    role: str


@dataclass(frozen=True)
class Key:
    """One entry of AUTH_KEYS: its id, its algorithm, what verifies and (maybe) what signs."""

    kid: str
    algorithm: str  # "HS256" or "EdDSA"
    verify_key: bytes | Ed25519PublicKey
    sign_key: bytes | Ed25519PrivateKey | None


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _parse_one(item: str) -> Key:
    kid, sep, rest = item.partition(":")
    if not sep or not kid:
        raise ValueError("AUTH_KEYS entries are kid:ALG:MATERIAL (ALG = hs256, ed25519, ed25519-pub)")
    alg, sep, material = rest.partition(":")
    if not sep or alg.lower() not in ("hs256", "ed25519", "ed25519-pub"):
        alg, material = "hs256", rest  # the older kid:secret form
    alg = alg.lower()
    if alg == "hs256":
        if len(material) < MIN_SECRET_CHARS:
            raise ValueError(f"AUTH_KEYS: HS256 secret of {kid!r} must have at least {MIN_SECRET_CHARS} characters")
        return Key(kid, "HS256", material.encode(), material.encode())
    try:
        raw = _b64decode(material)
        if alg == "ed25519":
            private = Ed25519PrivateKey.from_private_bytes(raw)
            return Key(kid, "EdDSA", private.public_key(), private)
        return Key(kid, "EdDSA", Ed25519PublicKey.from_public_bytes(raw), None)
    except ValueError as exc:
        raise ValueError(f"AUTH_KEYS: {alg} key of {kid!r} must be 32 bytes, base64url: {exc}") from exc


def parse_keys(spec: str) -> dict[str, Key]:
    keys: dict[str, Key] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key = _parse_one(item)
        keys[key.kid] = key
    if not keys:
        raise ValueError("AUTH_KEYS is empty")
    return keys


def weak_keys(spec: str) -> list[str]:
    """What makes AUTH_KEYS unfit outside development: the development key, a placeholder, an
    HS256 secret shorter than 32 bytes or too uniform to be random. Empty when fit."""
    problems = []
    if spec.strip() == DEV_AUTH_KEYS:
        return ["AUTH_KEYS is the development key"]
    for key in parse_keys(spec).values():
        if key.algorithm != "HS256":
            continue  # an Ed25519 seed or public key is 32 bytes by construction
        secret = key.verify_key if isinstance(key.verify_key, bytes) else b""
        lowered = secret.decode(errors="replace").lower()
        if any(mark in lowered for mark in PLACEHOLDER_MARKS):
            problems.append(f"key {key.kid!r} is a placeholder")
        elif len(secret) < MIN_PRODUCTION_SECRET_BYTES:
            problems.append(
                f"key {key.kid!r} has {len(secret)} bytes; use at least {MIN_PRODUCTION_SECRET_BYTES} random bytes"
            )
        elif len(set(secret)) < MIN_DISTINCT_SECRET_BYTES:
            problems.append(f"key {key.kid!r} is not random (only {len(set(secret))} distinct bytes)")
    return problems


def new_ed25519_key(kid: str) -> tuple[str, str]:
    """A fresh key pair as AUTH_KEYS entries: (signing entry, verify-only entry)."""
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{kid}:ed25519:{_b64encode(seed)}", f"{kid}:ed25519-pub:{_b64encode(public)}"


class TokenVerifier:
    def __init__(self, keys: dict[str, Key], max_ttl_s: int = DEFAULT_MAX_TOKEN_TTL_S) -> None:
        self.keys = keys
        self.max_ttl_s = max_ttl_s

    def verify(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> Principal:
        header = next((v for k, v in metadata or () if k == "authorization"), None)
        if header is None:
            raise Unauthenticated("missing bearer token: send 'authorization: Bearer <token>' metadata")
        text = header.decode() if isinstance(header, bytes) else header
        scheme, _, token = text.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization metadata must be 'Bearer <token>'")
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
            key = self.keys.get(kid)
            if key is None:
                raise Unauthenticated(f"token signed with unknown key id {kid!r}")
            claims = jwt.decode(
                token,
                key.verify_key,
                algorithms=[key.algorithm],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired; get a new one") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        issued, expires = claims["iat"], claims["exp"]
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise Unauthenticated("invalid token: iat and exp must be numbers")
        if expires - issued > self.max_ttl_s or issued > time.time() + CLOCK_SKEW_S:
            raise Unauthenticated(
                f"token lifetime is over the maximum of {self.max_ttl_s} s (AUTH_MAX_TOKEN_TTL_S); get a shorter-lived one"
            )
        merchant_id, role = claims.get("merchant_id"), claims.get("role")
        if not isinstance(merchant_id, str) or not merchant_id or role not in ROLES:
            raise Unauthenticated("token lacks merchant_id or a known role")
        return Principal(merchant_id=merchant_id, user_id=str(claims["sub"]), role=role)


def mint(keys: dict[str, Key], merchant_id: str, user_id: str, role: str, ttl_s: int = 3600) -> str:
    """A token signed with the first key that can sign (development and tests; production mints elsewhere)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    key = next((k for k in keys.values() if k.sign_key is not None), None)
    if key is None:
        raise ValueError("AUTH_KEYS has no signing key (only ed25519-pub entries)")
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": user_id, "merchant_id": merchant_id, "role": role, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, key.sign_key, algorithm=key.algorithm, headers={"kid": key.kid})  # type: ignore[arg-type]
