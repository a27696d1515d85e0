"""One transaction per mutating call, with its idempotency key claimed in it.

A replay returns the stored first result (marked `replayed` where the reply has
that field); a key reused with other arguments is refused; a call that fails
rolls back its claim too, so a retry runs again. (psycopg's pipeline mode was
tried for the hot path and measured slower under load: its async loop polls
the socket busily and the service is CPU-bound, not round-trip-bound.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from google.protobuf.message import Message
from psycopg import errors as pg_errors

from services.catalog.validation import require_merchant
from shopvoice import idempotency
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.db import Conn, Pool
from shopvoice.errors import AlreadyExists, FailedPrecondition

R = TypeVar("R", bound=Message)
P = TypeVar("P")


async def _nothing(conn: Conn, merchant_id: str) -> None:
    return None


class Mutations:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def run(
        self,
        method: str,
        request: Message,
        mutation: Mutation,
        result_type: type[R],
        apply: Callable[[Conn, str, Any], Awaitable[R]],
        preload: Callable[[Conn, str], Awaitable[Any]] = _nothing,
    ) -> R:
        """Run `preload` (e.g. take the row lock), claim the key, then `apply`
        with what `preload` returned. Locking first means two calls with one
        key serialise on the row before either touches the key."""
        merchant_id = require_merchant(mutation.merchant_id)
        digest = idempotency.request_hash(method, request)
        try:
            async with self.pool.connection() as conn, conn.transaction():
                loaded = await preload(conn, merchant_id)
                stored = await idempotency.claim(conn, merchant_id, mutation.idempotency_key, method, digest)
                if stored is not None:
                    replay = result_type.FromString(stored)
                    if "replayed" in replay.DESCRIPTOR.fields_by_name:
                        replay.replayed = True  # type: ignore[attr-defined]
                    return replay
                result = await apply(conn, merchant_id, loaded)
                await idempotency.remember(conn, merchant_id, mutation.idempotency_key, result)
            return result
        except pg_errors.UniqueViolation as exc:  # a concurrent create took the SKU between check and insert
            raise AlreadyExists("that SKU was just created by another call; choose another SKU") from exc
        except pg_errors.CheckViolation as exc:  # the schema's guard: never negative, never oversold
            rule = exc.diag.constraint_name
            raise FailedPrecondition(f"refused: the change would break a stock or price rule ({rule})") from exc


def expected_version(mutation: Mutation) -> int | None:
    return mutation.expected_version if mutation.HasField("expected_version") else None
