"""Bearer tokens: JWT (HS256) in the `authorization` metadata, keys by key id.

Key rotation: AUTH_KEYS lists kid:secret pairs; the first signs new tokens and
every listed key verifies, so a new key is added first and the old one removed
once its tokens have expired.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from shopvoice.errors import Unauthenticated

ROLES = ("owner", "staff", "viewer", "customer")  # customer: CustomerAssistant only (services/support)
ALGORITHM = "HS256"
ISSUER = "shopvoice"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the verified token says."""

    merchant_id: str
    user_id: str
    role: str


def parse_keys(spec: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kid, sep, secret = item.partition(":")
        if not sep or not kid or len(secret) < 16:
            raise ValueError("AUTH_KEYS must be kid:secret pairs, secrets of at least 16 characters")
        keys[kid] = secret.encode()
    if not keys:
        raise ValueError("AUTH_KEYS is empty")
    return keys


class TokenVerifier:
    def __init__(self, keys: dict[str, bytes]) -> None:
        self.keys = keys

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
                token, key, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "iss"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired; get a new one") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from exc
        merchant_id, role = claims.get("merchant_id"), claims.get("role")
        if not isinstance(merchant_id, str) or not merchant_id or role not in ROLES:
            raise Unauthenticated("token lacks merchant_id or a known role")
        return Principal(merchant_id=merchant_id, user_id=str(claims["sub"]), role=role)


def mint(keys: dict[str, bytes], merchant_id: str, user_id: str, role: str, ttl_s: int = 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    kid, key = next(iter(keys.items()))
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": user_id, "merchant_id": merchant_id, "role": role, "iat": now, "exp": now + ttl_s}
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
