"""Domain errors, and the one boundary where they become gRPC status codes.

Services raise these inside; `@grpc_boundary` on a servicer method turns them
into the right status with the message as written (a person must be able to act
on it). Anything else becomes INTERNAL with a reference id, logged in full.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
import psycopg

from shopvoice import log
from shopvoice.money import MoneyError


class DomainError(Exception):
    code = grpc.StatusCode.UNKNOWN


class InvalidArgument(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(DomainError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


# The codes by which a service says "understood, and refused": an answer for whoever asked
# (a bad value, an unknown SKU or order, an illegal state), the same however often it is
# asked, so never worth a retry. Any other code (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL,
# RESOURCE_EXHAUSTED, ...) may go away: the caller retries or leaves the work pending.
REFUSALS = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)

_MAPPED: tuple[tuple[type[Exception], grpc.StatusCode], ...] = (
    (DomainError, grpc.StatusCode.UNKNOWN),  # placeholder: DomainError uses its own .code
    (MoneyError, grpc.StatusCode.INVALID_ARGUMENT),
    # Postgres (or psycopg before sending) refused a value: a NUL character in text, a
    # number out of the column's range. The request's fault, never an internal error.
    (psycopg.DataError, grpc.StatusCode.INVALID_ARGUMENT),
)


def status_for(exc: Exception) -> grpc.StatusCode | None:
    if isinstance(exc, DomainError):
        return exc.code
    for kind, code in _MAPPED[1:]:
        if isinstance(exc, kind):
            return code
    return None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def grpc_boundary(method: F) -> F:
    """Map domain exceptions raised by a unary servicer method to gRPC statuses."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            code = status_for(exc)
            if code is not None:
                message = str(exc)
                if isinstance(exc, psycopg.DataError):
                    message = f"a value in the request cannot be stored: {_first_line(exc)}"
                await context.abort(code, message)
            ref = uuid.uuid4().hex[:12]
            log.get().exception("internal error", method=method.__qualname__, ref=ref)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error (ref {ref}); it is logged, retry later")

    return wrapper  # type: ignore[return-value]
