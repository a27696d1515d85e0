"""Every gRPC port answers health and reflection; SIGTERM drains and exits cleanly."""

from __future__ import annotations

import signal
import tempfile
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from shopvoice_cli.stack import Stack
from tests.support.processes import ServiceProcess

EXPECTED_API = {
    "gateway": "shopvoice.gateway.v1.Assistant",
    "catalog": "shopvoice.catalog.v1.CatalogService",
    "orders": "shopvoice.orders.v1.OrdersService",
    "asr": "nvidia.riva.asr.RivaSpeechRecognition",
}


def test_health_and_reflection_on_every_port(stack: Stack) -> None:
    assert {"gateway", "nlu", "catalog"} <= set(stack.processes)
    for name, process in stack.processes.items():
        with grpc.insecure_channel(process.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, name
            if name == "gateway":  # the public port: reflection off unless GATEWAY_REFLECTION=1
                with pytest.raises(grpc.RpcError) as off:
                    ProtoReflectionDescriptorDatabase(channel).get_services()
                assert off.value.code() == grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]
                continue
            services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
        assert "grpc.health.v1.Health" in services, name
        assert "grpc.reflection.v1alpha.ServerReflection" in services, name
        if name in EXPECTED_API:
            assert EXPECTED_API[name] in services, (name, services)
            with grpc.insecure_channel(process.address) as channel:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=EXPECTED_API[name]), timeout=5
                )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, name


def test_sigterm_goes_not_serving_then_exits_zero(database_url: str, redis_url: str, stream_prefix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc = ServiceProcess(
            "catalog",
            {
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "STREAM_PREFIX": stream_prefix,
                "SHUTDOWN_GRACE_S": "2",
            },
            Path(tmp),
        ).start()
        seen: list[int] = []
        channel = grpc.insecure_channel(proc.address)
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))

        def read() -> None:
            try:
                for reply in watch:
                    seen.append(reply.status)
            except grpc.RpcError:
                pass

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.signal(signal.SIGTERM)
        assert proc.proc is not None
        code = proc.proc.wait(15)
        reader.join(5)
        channel.close()
        assert code == 0, proc.log()
        assert seen[0] == health_pb2.HealthCheckResponse.SERVING
        assert health_pb2.HealthCheckResponse.NOT_SERVING in seen, seen
        assert '"stopped"' in proc.log()
