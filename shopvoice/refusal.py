"""Refusing a client-streaming gRPC call so that the caller is told why.

A grpc asyncio client whose message write fails because the server has already ended the call
reports INTERNAL ("Internal error from Core") in place of the status the server sent
(grpc/grpc#36066; the client-side fix, grpc/grpc#43486, is not released). Clients write as the
call opens: a gateway client its SessionStart, NVIDIA's Riva clients their config and then a
whole file's audio at once. Ending the call before those writes are in races them, and the
caller never learns that its token was refused. So a refusal first reads what the caller is
sending, and uses none of it: until the caller half-closes, goes quiet for QUIET_S (it is
waiting for a reply), or REFUSAL_READ_S has passed (a live microphone never stops; its caller
may still see INTERNAL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import grpc

REFUSAL_READ_S = 1.0
QUIET_S = 0.2


async def refuse_stream(
    context: grpc.aio.ServicerContext, requests: AsyncIterator[Any], code: grpc.StatusCode, message: str
) -> NoReturn:
    """End a client-streaming call with `code` once the caller has stopped writing (or REFUSAL_READ_S passed)."""
    with contextlib.suppress(Exception):  # whatever the reads' outcome, the refusal stands
        await asyncio.wait_for(_drain(aiter(requests)), REFUSAL_READ_S)
    await context.abort(code, message)


async def _drain(requests: AsyncIterator[Any]) -> None:
    """Read and drop messages until the caller half-closes or, after its first, goes quiet."""
    sentinel = object()
    if await anext(requests, sentinel) is sentinel:
        return
    with contextlib.suppress(TimeoutError):
        while await asyncio.wait_for(anext(requests, sentinel), QUIET_S) is not sentinel:
            pass
