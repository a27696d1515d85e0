"""Idempotency keys for mutating RPCs, stored in the service's own schema.

Inside the mutation's transaction: `claim` either reserves the key (first call:
proceed) or returns the stored response of the first call (replay). Concurrent
calls with one key serialise on the primary key; a reuse of a key with other
arguments is refused. A call that fails rolls back its claim, so a retry runs again.
"""

from __future__ import annotations

import hashlib

from google.protobuf.message import Message
from psycopg import AsyncConnection
from psycopg.rows import DictRow


class IdempotencyKeyReused(Exception):
    """The key was used before with different arguments."""


class MissingIdempotencyKey(Exception):
    """A mutating call without a key."""


def request_hash(method: str, request: Message) -> bytes:
    # Deterministic serialisation: the same arguments hash the same across processes.
    return hashlib.sha256(method.encode() + b"\0" + request.SerializeToString(deterministic=True)).digest()


async def claim(conn: AsyncConnection[DictRow], merchant_id: str, key: str, method: str, digest: bytes) -> bytes | None:
    """None: the key is ours, go ahead. bytes: the stored response of the first call."""
    if not key:
        raise MissingIdempotencyKey("idempotency_key is required on every mutating call")
    if len(key) > 200:
        raise MissingIdempotencyKey("idempotency_key is longer than 200 characters")
    cur = await conn.execute(
        "INSERT INTO idempotency_keys (merchant_id, key, method, request_hash) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (merchant_id, key, method, digest),
    )
    if await cur.fetchone():
        return None
    cur = await conn.execute(
        "SELECT method, request_hash, response FROM idempotency_keys WHERE merchant_id = %s AND key = %s",
        (merchant_id, key),
    )
    row = await cur.fetchone()
    if row is None:  # pragma: no cover - the conflicting row cannot vanish inside our transaction
        raise IdempotencyKeyReused("idempotency key vanished; retry")
    stored_method, stored_hash, response = (
        (row["method"], row["request_hash"], row["response"]) if isinstance(row, dict) else row
    )
    if stored_method != method or bytes(stored_hash) != digest:
        raise IdempotencyKeyReused(
            f"idempotency key {key!r} was already used for a different request ({stored_method}); use a new key"
        )
    return bytes(response) if response is not None else b""


async def remember(conn: AsyncConnection[DictRow], merchant_id: str, key: str, response: Message) -> None:
    await conn.execute(
        "UPDATE idempotency_keys SET response = %s WHERE merchant_id = %s AND key = %s",
        (response.SerializeToString(), merchant_id, key),
    )
