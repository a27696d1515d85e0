"""Real Celery worker processes for tests: started in a session of their own, so a
SIGKILL takes the whole worker (main process and prefork children) down at once,
as an OOM kill or a node loss takes a container."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from shopvoice_cli.stack import Stack
from tests.support.processes import ROOT


@dataclass
class CeleryWorker:
    env: dict[str, str]
    log_dir: Path
    name: str = "w1"
    concurrency: int = 2
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"worker-{self.name}.log"

    def start(self) -> CeleryWorker:
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        out = self.log_path.open("ab")
        command = [
            sys.executable, "-m", "celery", "-A", "services.worker.app", "worker",
            "--pool=prefork", f"--concurrency={self.concurrency}", "--loglevel=INFO",
            f"--hostname={self.name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL to every process of the worker: no warm shutdown, nothing acknowledged."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (warm shutdown), then SIGKILL for whatever is left of the group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def for_stack(stack: Stack, log_dir: Path, **env: str) -> CeleryWorker:
    """A started worker on a test stack's Redis, streams, catalog and orders (env adds or overrides)."""
    base = {
        "REDIS_URL": stack.redis_url,
        "STREAM_PREFIX": stack.extra_env["STREAM_PREFIX"],
        "CATALOG_ADDR": f"127.0.0.1:{stack.ports['catalog']}",
        "ORDERS_ADDR": f"127.0.0.1:{stack.ports['orders']}",
    }
    return CeleryWorker({**base, **env}, log_dir, concurrency=1).start()
