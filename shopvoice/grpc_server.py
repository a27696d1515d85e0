"""The gRPC server bootstrap every service uses.

grpc.aio server with the library's own health (grpc.health.v1) and reflection
services, a Prometheus endpoint, trace-context extraction, and graceful stop on
SIGTERM: health goes NOT_SERVING (so load balancers stop sending), in-flight
calls drain for SHUTDOWN_GRACE_S, then the server stops.

WORKERS=N (N > 1) forks N processes that each run the same server on the same
port with SO_REUSEPORT, so a CPU-bound Python service uses N cores (the kernel
spreads connections across them, as grpc's examples/python/multiprocessing).
Only the first runs the background loops and the metrics endpoint; the parent
forwards SIGTERM/SIGINT and exits when they have stopped (non-zero if any
failed; one worker dying stops the rest, so the orchestrator restarts the pod).
With WORKERS=1 (the default) SO_REUSEPORT stays off, so a port that is in use
is an error rather than silently shared.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from opentelemetry import context as otel_context
from prometheus_client import Counter, Histogram, start_http_server

from shopvoice import heap, hygiene, identity, log
from shopvoice.config import ServiceSettings
from shopvoice.tracing import context_from_metadata

RPC_LATENCY = Histogram(
    "sv_grpc_server_handling_seconds",
    "Time to handle a unary gRPC call",
    ["service", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RPC_TOTAL = Counter("sv_grpc_server_handled_total", "gRPC calls handled", ["service", "method", "code"])

# Big enough for 1 MB of text plus framing; anything larger is refused by gRPC itself
# with RESOURCE_EXHAUSTED before our code sees it.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class Malformed:
    """Stands in for a request (or a stream frame) whose bytes are not the method's message,
    or whose text `shopvoice.hygiene` refuses."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def reason(self, method: str) -> str:
        if isinstance(self.error, BadText):
            return str(self.error)
        return f"the request is not a valid {method} message: {str(self.error)[:200]}"


class BadText(ValueError):
    """A message that parsed but holds text no edge accepts (NUL, lone surrogates, controls)."""


_Malformed = Malformed


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """A deserializer that hands a _Malformed to the handler instead of raising: gRPC
    itself would answer UNKNOWN, and a client that sends garbage deserves INVALID_ARGUMENT."""
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:
            return _Malformed(exc)

    return deserialize


def _checked(request: Any) -> Any:
    """The request, or a Malformed when its text is refused (shopvoice.hygiene)."""
    if isinstance(request, Message) and (problem := hygiene.message_problem(request)):
        return Malformed(BadText(problem))
    return request


class _ObservabilityInterceptor(grpc.aio.ServerInterceptor):
    """Per-call metrics, trace context and malformed-request answers (INVALID_ARGUMENT) for unary
    calls; the frames of a streaming call are checked the same way: the stream is ended with
    INVALID_ARGUMENT, or, for the methods in `frames_to_handler`, the handler gets a Malformed
    in the frame's place and answers it in the stream (the gateway's Converse)."""

    def __init__(self, frames_to_handler: frozenset[str] = frozenset()) -> None:
        self.frames_to_handler = frames_to_handler

    def _stream(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        to_handler = method in self.frames_to_handler
        name = method.rpartition("/")[2]

        async def frames(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async for item in requests:
                item = _checked(item)
                if isinstance(item, Malformed) and not to_handler:
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, item.reason(name))
                yield item

        if handler.stream_stream is not None:
            inner_ss: Any = handler.stream_stream

            async def stream_stream(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
                replies = inner_ss(frames(requests, context), context)
                try:
                    async for reply in replies:
                        yield reply
                finally:  # the handler's own clean-up runs now, not whenever it is collected
                    await replies.aclose()

            return grpc.stream_stream_rpc_method_handler(
                stream_stream, _tolerant(handler.request_deserializer), handler.response_serializer
            )
        inner_su: Any = handler.stream_unary

        async def stream_unary(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
            return await inner_su(frames(requests, context), context)

        return grpc.stream_unary_rpc_method_handler(
            stream_unary, _tolerant(handler.request_deserializer), handler.response_serializer
        )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is not None and (handler.stream_stream is not None or handler.stream_unary is not None):
            return self._stream(handler, handler_call_details.method)
        if handler is None or handler.unary_unary is None:
            return handler
        service, _, method = handler_call_details.method.lstrip("/").partition("/")
        inner = handler.unary_unary
        metadata = handler_call_details.invocation_metadata

        async def observed(request: Any, context: grpc.aio.ServicerContext) -> Any:
            token = otel_context.attach(context_from_metadata(metadata))
            started = time.perf_counter()
            code = "OK"
            try:
                request = _checked(request)
                if isinstance(request, Malformed):
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason(method))
                return await inner(request, context)  # type: ignore[arg-type]
            except BaseException:
                code = context.code().name if context.code() else "UNKNOWN"
                raise
            finally:
                otel_context.detach(token)
                if code == "OK" and context.code() not in (None, grpc.StatusCode.OK):
                    code = context.code().name
                RPC_LATENCY.labels(service, method).observe(time.perf_counter() - started)
                RPC_TOTAL.labels(service, method, code).inc()

        return grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )


@dataclass
class Service:
    """What a service hands the bootstrap: its servicers and its life cycle."""

    name: str  # short name: "catalog"
    default_port: int
    grpc_services: Sequence[str]  # full names for health and reflection
    register: Callable[[grpc.aio.Server], None]
    on_start: Callable[[], Awaitable[None]] | None = None
    on_stop: Callable[[], Awaitable[None]] | None = None
    # Long-running loops (stream consumers, outbox relays) started after the
    # server is up and cancelled before it stops.
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Streaming methods ("/pkg.Service/Method") whose handler answers a malformed frame itself
    # (it gets a Malformed in the frame's place); any other stream ends with INVALID_ARGUMENT.
    frames_to_handler: frozenset[str] = frozenset()
    # gRPC reflection (grpcurl, debugging); a public port may turn it off.
    reflection: bool = True
    # The largest message the server takes (0: MAX_MESSAGE_BYTES); the ASR's Recognize carries audio.
    max_message_bytes: int = 0


async def run(
    service: Service, settings: ServiceSettings, ready: asyncio.Event | None = None, reuse_port: bool = False
) -> None:
    logger = log.get().bind(component="grpc_server")
    # Identity first: a call without a valid internal token is refused before anything runs.
    caller_identity = identity.process_identity()
    interceptors: list[grpc.aio.ServerInterceptor] = [_ObservabilityInterceptor(service.frames_to_handler)]
    if caller_identity is not None:
        interceptors.insert(0, identity.ServerIdentity(caller_identity))
    else:
        logger.warning("no INTERNAL_KEYS (SHOPVOICE_DEV_MODE): internal calls are not authenticated")
    if service.on_start:
        await service.on_start()

    server = grpc.aio.server(
        interceptors=interceptors,
        options=[
            ("grpc.max_receive_message_length", service.max_message_bytes or MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 1 if reuse_port else 0),
        ],
    )
    service.register(server)
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    if service.reflection:
        reflection.enable_server_reflection(
            [
                *service.grpc_services,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
    port = settings.port or service.default_port
    try:  # grpcio returns 0 or, since 1.5x, raises when the port cannot be bound
        bound = server.add_insecure_port(f"{settings.host}:{port}")
    except RuntimeError:
        bound = 0
    if bound == 0:
        raise SystemExit(f"cannot listen on {settings.host}:{port}: is another process using it?")
    if settings.metrics_port:
        start_http_server(settings.metrics_port, addr=settings.host)
    await server.start()
    for name in ("", *service.grpc_services):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)

    heap.freeze()
    tasks = [asyncio.create_task(supervised(job, logger)) for job in service.background]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logger.info("serving", port=bound, metrics_port=settings.metrics_port or None)
    if ready is not None:
        ready.set()
    await stop.wait()

    logger.info("stopping", grace_s=settings.shutdown_grace_s)
    await health.enter_graceful_shutdown()
    for task in tasks:
        task.cancel()
    # Each clean-up step is bounded: a stop that hangs (a connection that never answers)
    # must not keep the process past its grace period, where the orchestrator kills it.
    await _bounded(asyncio.gather(*tasks, return_exceptions=True), settings.shutdown_grace_s, "background jobs", logger)
    await server.stop(settings.shutdown_grace_s)
    if service.on_stop:
        await _bounded(service.on_stop(), settings.shutdown_grace_s, "on_stop", logger)
    logger.info("stopped")


async def _bounded(step: Awaitable[object], timeout_s: float, what: str, logger: Any) -> None:
    try:
        await asyncio.wait_for(step, timeout_s)
    except TimeoutError:
        logger.warning("shutdown step timed out; going on", step=what, timeout_s=timeout_s)


async def supervised(job: Callable[[], Awaitable[None]], logger: Any) -> None:
    """Run a background loop forever; a crash is logged and the loop restarted."""
    while True:
        try:
            await job()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("background job crashed; restarting in 1 s", job=getattr(job, "__qualname__", str(job)))
            await asyncio.sleep(1)


def main(service: Service, settings: ServiceSettings) -> None:
    """Entry point of `python -m services.<name>`."""
    log.configure(service.name, settings.log_level)
    if settings.workers > 1:
        raise SystemExit(_run_workers(service, settings))
    _install_uvloop()
    asyncio.run(run(service, settings))


def _install_uvloop() -> None:
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]  # optional speed-up

        uvloop.install()
    except ImportError:
        pass


def _worker(service: Service, settings: ServiceSettings, index: int) -> None:
    """One of WORKERS processes: the same server on the same port (SO_REUSEPORT)."""
    if index:
        service = dataclasses.replace(service, background=[])
        settings = settings.model_copy(update={"metrics_port": 0})
    log.configure(service.name, settings.log_level)
    _install_uvloop()
    asyncio.run(run(service, settings, reuse_port=True))


def _run_workers(service: Service, settings: ServiceSettings) -> int:
    """Fork the workers before any gRPC object exists (gRPC does not survive a fork), then wait."""
    logger = log.get().bind(component="grpc_server")
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_worker, args=(service, settings, i), name=f"{service.name}-worker-{i}")
        for i in range(settings.workers)
    ]
    stopping = False

    def forward(sig: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.pid is not None and worker.exitcode is None:
                os.kill(worker.pid, sig)

    for worker in workers:
        worker.start()
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    logger.info("workers started", workers=len(workers), pids=[w.pid for w in workers])
    multiprocessing.connection.wait([w.sentinel for w in workers])
    if not stopping:
        logger.error("a worker exited; stopping the others", exit_codes=[w.exitcode for w in workers])
        forward(signal.SIGTERM, None)
    for worker in workers:
        worker.join()
    return max(abs(w.exitcode or 0) for w in workers)


def channel(target: str) -> grpc.aio.Channel:
    """A client channel with keepalive, retries through the service config, and this
    process's internal token on every call (shopvoice.identity)."""
    service_config = (
        '{"methodConfig":[{"name":[{}],"retryPolicy":{"maxAttempts":3,"initialBackoff":"0.05s",'
        '"maxBackoff":"0.5s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]}'
    )
    return grpc.aio.insecure_channel(
        target,
        interceptors=identity.aio_interceptors(identity.process_identity()),
        options=[
            ("grpc.service_config", service_config),
            ("grpc.enable_retries", 1),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ],
    )
