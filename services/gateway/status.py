"""Ending a call with RESOURCE_EXHAUSTED the way gRPC clients understand: google.rpc
RetryInfo in the status details (grpcio-status), plus a plain `retry-after-ms`
trailer for clients that do not decode details."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc
from google.protobuf.any_pb2 import Any as AnyPb
from google.protobuf.duration_pb2 import Duration
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

RETRY_AFTER_KEY = "retry-after-ms"
DETAILS_KEY = "grpc-status-details-bin"  # where grpcio-status puts google.rpc.Status


def exhausted_status(message: str, retry_after_ms: int) -> grpc.Status:
    delay = Duration()
    delay.FromMilliseconds(retry_after_ms)
    detail = AnyPb()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    status = rpc_status.to_status(
        status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=message, details=[detail])
    )
    return status


async def abort_exhausted(context: grpc.aio.ServicerContext, message: str, retry_after_ms: int) -> NoReturn:
    status = exhausted_status(message, retry_after_ms)
    trailers = (*status.trailing_metadata, (RETRY_AFTER_KEY, str(retry_after_ms)))
    await context.abort(status.code, status.details, trailing_metadata=trailers)
    raise AssertionError("abort returned")  # context.abort always raises


async def abort_unavailable(context: grpc.aio.ServicerContext, message: str, retry_after_ms: int = 1000) -> NoReturn:
    """UNAVAILABLE (a dependency is not answering) with the same retry hint as RESOURCE_EXHAUSTED."""
    await context.abort(
        grpc.StatusCode.UNAVAILABLE, message, trailing_metadata=((RETRY_AFTER_KEY, str(retry_after_ms)),)
    )
    raise AssertionError("abort returned")  # context.abort always raises


def retry_after_ms(error: grpc.aio.AioRpcError) -> int | None:
    """The server's RetryInfo (or retry-after-ms trailer) of a failed call, for clients."""
    trailers: Any = error.trailing_metadata() or ()
    for key, value in trailers:
        if key == DETAILS_KEY and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.RetryInfo()
                if detail.Unpack(info):
                    return int(info.retry_delay.ToMilliseconds())
        if key == RETRY_AFTER_KEY:
            return int(value)
    return None
