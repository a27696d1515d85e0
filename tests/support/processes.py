"""Real service processes for integration tests: started, health-checked, signalled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shopvoice_cli.stack import DEFAULT_PORTS, ports_from
from tests.support.ports import free_port, free_port_block

ROOT = Path(__file__).resolve().parents[2]


def free_stack_ports() -> dict[str, int]:
    """A whole stack's ports (DEFAULT_PORTS moved as one block, shopvoice_cli.stack.ports_from) below
    the ephemeral range."""
    return ports_from(free_port_block(len(DEFAULT_PORTS)))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """cpu_seconds of a process and of every process under it (a server's decoding workers)."""
    total, pids = 0.0, [pid]
    while pids:
        current = pids.pop()
        total += cpu_seconds(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def tree_pids(pid: int) -> list[int]:
    """A process and every process under it (Linux /proc), the process first."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def memory_mb(pid: int, field: str = "Rss") -> float:
    """A process's resident memory in MB from /proc/PID/smaps_rollup: "Rss", or "Pss" (shared pages
    divided among their sharers, so a tree's sum counts them once, as a container's limit does)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0.0


def wait_serving(address: str, timeout: float = 30.0, service: str = "") -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with grpc.insecure_channel(address) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
        except grpc.RpcError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{address} not SERVING after {timeout}s: {last}")


@dataclass
class ServiceProcess:
    """`python -m services.<name>` with its own environment and a log file."""

    name: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self, wait: bool = True) -> ServiceProcess:
        # A service started here is development (tests, benches), as in shopvoice_cli.stack: without
        # INTERNAL_KEYS it runs without internal identity; with them, calls are authenticated all the same.
        env = {"SHOPVOICE_DEV_MODE": "1", **os.environ, **self.env, "PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        if wait:
            try:
                wait_serving(self.address)
            except TimeoutError as exc:
                raise TimeoutError(f"{exc}\n--- {self.name} log ---\n{self.log_path.read_text()[-4000:]}") from exc
        return self

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, as a crash or an OOM kill."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
