"""Trace context across gRPC metadata and stream messages (W3C traceparent).

OpenTelemetry's API does the propagation; which exporter (if any) receives the
spans is the deployment's choice through the standard OTEL_* variables.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate

from shopvoice.common.v1.command_pb2 import StageTiming, TraceContext


def stage(name: str) -> StageTiming:
    """Now, as a named stage of a command's way through the system (the timings a Result carries)."""
    return StageTiming(stage=name, at_unix_nanos=time.time_ns())


def current_metadata() -> list[tuple[str, str]]:
    """The current trace context as gRPC metadata, for an outgoing call."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return list(carrier.items())


def current_message() -> TraceContext:
    """The current trace context as the field carried on stream messages."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return TraceContext(traceparent=carrier.get("traceparent", ""), tracestate=carrier.get("tracestate", ""))


def context_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> otel_context.Context:
    carrier = {k: v if isinstance(v, str) else v.decode() for k, v in (metadata or ())}
    return propagate.extract(carrier)


def context_from_message(trace: TraceContext) -> otel_context.Context:
    carrier: Mapping[str, str] = {
        k: v for k, v in (("traceparent", trace.traceparent), ("tracestate", trace.tracestate)) if v
    }
    return propagate.extract(carrier)
