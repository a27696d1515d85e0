"""Idempotency keys for mutating RPCs, stored in the service's own schema.

`run_once` is the one transaction every mutating call of the catalog, orders and
support services runs in: claim the key, apply the change, remember its result,
all committed together. A replay returns the stored result of the first call
(marked `replayed` where the reply has that field); concurrent calls with one key
serialise on the key's primary key; a key reused with other arguments is refused;
a call that fails rolls back its claim too, so a retry runs again.

`claim` and `remember` are its two steps, for a path that writes its own SQL (the
catalog's one-statement fast path mirrors them in a function of its migrations).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import Message
from psycopg import AsyncConnection
from psycopg.rows import DictRow

from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.db import Conn, Pool
from shopvoice.errors import FailedPrecondition, InvalidArgument
from shopvoice.identifiers import require_merchant

R = TypeVar("R", bound=Message)


class IdempotencyKeyReused(FailedPrecondition):
    """The key was used before with different arguments."""


class MissingIdempotencyKey(InvalidArgument):
    """A mutating call without a key."""


async def run_once(
    pool: Pool,
    method: str,
    request: Message,
    mutation: Mutation,
    result_type: type[R],
    apply: Callable[[Conn, str], Awaitable[R]],
    *,
    lock: Callable[[Conn, str], Awaitable[None]] | None = None,
    versioned: bool = False,
) -> R:
    """Run `apply(conn, merchant_id)` once per idempotency key, in one transaction with the key.

    `lock(conn, merchant_id)` runs first, before the claim (e.g. the row lock of the SKU to
    change), so two calls with one key serialise on the row before either touches the key.
    Only a service that keeps versions (`versioned`) takes a mutation's expected_version;
    the others refuse it rather than ignore a compare-and-swap they do not do.
    """
    merchant_id = require_merchant(mutation.merchant_id)
    if mutation.HasField("expected_version") and not versioned:
        raise InvalidArgument(f"{method} does not take expected_version: leave it unset")
    digest = request_hash(method, request)
    async with pool.connection() as conn, conn.transaction():
        if lock is not None:
            await lock(conn, merchant_id)
        stored = await claim(conn, merchant_id, mutation.idempotency_key, method, digest)
        if stored is not None:
            replay = result_type.FromString(stored)
            if "replayed" in replay.DESCRIPTOR.fields_by_name:
                replay.replayed = True  # type: ignore[attr-defined]
            return replay
        result = await apply(conn, merchant_id)
        await remember(conn, merchant_id, mutation.idempotency_key, result)
    return result


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
