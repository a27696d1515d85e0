"""Every mutating call of the catalog's general path: the library's one idempotent
transaction (`idempotency.run_once`), with the schema's own refusals as domain errors.

A replay returns the stored first result; a key reused with other arguments is refused;
a call that fails rolls back its claim too, so a retry runs again. (psycopg's pipeline
mode was tried for the hot path and measured slower under load: its async loop polls
the socket busily and the service is CPU-bound, not round-trip-bound.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from google.protobuf.message import Message
from psycopg import errors as pg_errors

from shopvoice import idempotency
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.db import Conn, Pool
from shopvoice.errors import AlreadyExists, FailedPrecondition

R = TypeVar("R", bound=Message)


def broken_rule(exc: pg_errors.CheckViolation) -> FailedPrecondition:
    """The schema's guard refused a change (never negative, never oversold): say which rule."""
    rule = exc.diag.constraint_name
    return FailedPrecondition(f"refused: the change would break a stock or price rule ({rule})")


class Mutations:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def run(
        self,
        method: str,
        request: Message,
        mutation: Mutation,
        result_type: type[R],
        apply: Callable[[Conn, str], Awaitable[R]],
        lock: Callable[[Conn, str], Awaitable[None]] | None = None,
    ) -> R:
        """`apply` once per key, after `lock` (e.g. the SKU's row lock, taken before the key's claim)."""
        try:
            return await idempotency.run_once(
                self.pool, method, request, mutation, result_type, apply, lock=lock, versioned=True
            )
        except pg_errors.UniqueViolation as exc:  # a concurrent create took the SKU between check and insert
            raise AlreadyExists("that SKU was just created by another call; choose another SKU") from exc
        except pg_errors.CheckViolation as exc:
            raise broken_rule(exc) from exc


def expected_version(mutation: Mutation) -> int | None:
    return mutation.expected_version if mutation.HasField("expected_version") else None
