"""The local stack: every service as a process on loopback, health-checked and supervised.

With `make models` installed (llama.cpp's server and the pinned weights), `shopvoice up`
and `make demo` also run the local LLM server (shopvoice.llm_server) for the NLU's long
tail, and point the NLU at it; without it they say so and run without (the grammar
answers alone). A VLLM_URL already set (an operator's own server) is used instead.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from shopvoice import identity

# Start order: what a service calls is up before it.
SERVICES = ("catalog", "orders", "support", "asr", "nlu", "gateway")
# Who holds an internal signing key besides the services: the worker (Celery, no gRPC server)
# and the CLI that started the stack (it seeds the demo shop).
KEY_HOLDERS = (*SERVICES, "worker", "cli")
DEFAULT_PORTS = {
    "gateway": 50051,
    "asr": 50052,
    "nlu": 50053,
    "catalog": 50054,
    "orders": 50055,
    "support": 50056,
    "llm": 50057,  # the local LLM server (HTTP, OpenAI API under /v1), when `make models` installed it
}
LLM = "llm"
#: The local CPU LLM's deadline per utterance unless VLLM_TIMEOUT_S says otherwise.
LOCAL_LLM_TIMEOUT_S = 6.0
LLM_HINT = "`make models` installs it (llama.cpp's server and the pinned 1.1 GB Qwen2.5-Coder-1.5B weights)"
BASE_PORT = DEFAULT_PORTS["gateway"]
MAX_BASE_PORT = 65535 - (max(DEFAULT_PORTS.values()) - BASE_PORT)


class StackError(RuntimeError):
    """The stack did not start; the message says which service and ends with its log's last lines."""


def ports_from(base: int) -> dict[str, int]:
    """The stack's ports moved as one block so that `base` is the gateway's: two stacks on
    one machine (or a test beside a developer's `make up`) need only different bases."""
    if not 1024 <= base <= MAX_BASE_PORT:
        raise ValueError(f"base port {base} is not in 1024..{MAX_BASE_PORT}")
    return {name: base + port - BASE_PORT for name, port in DEFAULT_PORTS.items()}


def cli_keys_path(run_dir: Path) -> Path:
    """Where a running local stack keeps the CLI's INTERNAL_KEYS (its own key, everyone's public keys)."""
    return run_dir / "cli.internal-keys"


def load_cli_identity(run_dir: Path) -> None:
    """The CLI's identity for direct calls to the local stack's services: INTERNAL_KEYS from the
    environment when set, else the key file of a stack `shopvoice up` started in `run_dir`."""
    if os.environ.get("INTERNAL_KEYS"):
        return  # identity.sync_channel reads it
    try:
        spec = cli_keys_path(run_dir).read_text().strip()
    except OSError:
        return
    try:
        identity.set_process_identity(identity.Identity(identity.parse_keys(spec)))
    except ValueError:
        return  # a damaged file: the call goes without identity and the service says so


def open_log(path: Path) -> BinaryIO:
    """A log file for appending, readable by its owner and group only (0640): logs hold
    merchants' words and ids."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    os.fchmod(fd, 0o640)  # also when it existed with wider rights, whatever the umask
    return os.fdopen(fd, "ab")


def _runnable(name: str) -> bool:
    try:
        return importlib.util.find_spec(f"services.{name}.__main__") is not None
    except ModuleNotFoundError:
        return False


def available_services() -> list[str]:
    return [name for name in SERVICES if _runnable(name)]


def local_llm() -> tuple[bool, str]:
    """Whether the local LLM server can run here, and a line for a person saying so (or why not).

    Cheap: the package is importable and the weights have their pinned size (the server
    itself checks the sha256 before it loads them, and refuses otherwise).
    """
    from shopvoice.weights import LLM as LLM_WEIGHTS
    from shopvoice.weights import WeightsError
    from shopvoice.weights.check import WeightsSettings, installed_path

    if importlib.util.find_spec("llama_cpp") is None:
        return False, f"the local LLM is not installed, so the grammar answers alone: {LLM_HINT}"
    settings = WeightsSettings()
    try:
        if settings.override(LLM_WEIGHTS):
            return True, f"the local LLM serves {settings.override(LLM_WEIGHTS)} (LLM_MODEL_PATH, unverified)"
        path = installed_path(LLM_WEIGHTS, settings.models_dir)
        pinned = LLM_WEIGHTS.files[0]
        if not path.is_file() or path.stat().st_size != pinned.size:
            return False, f"the local LLM's weights are not at {path}, so the grammar answers alone: {LLM_HINT}"
    except (WeightsError, OSError, IndexError) as exc:
        return False, f"the local LLM cannot run ({exc}), so the grammar answers alone"
    return True, f"the local LLM ({LLM_WEIGHTS.name}) answers what the grammar does not"


def wait_http(url: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Whether `url` answers 200 within `timeout` (the llama.cpp server opens its port once loaded)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_serving(address: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Whether the health service at `address` says SERVING within `timeout`; gives up
    early once `alive()` is false (a process that exited will not start serving)."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline and alive():
            try:
                if (
                    stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                    == health_pb2.HealthCheckResponse.SERVING
                ):
                    return True
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    return False


#: A service that has run this long without dying is not crash-looping: its next crash restarts at once.
STABLE_AFTER_S = 60.0
RESTART_BACKOFF_MAX_S = 60.0


def restart_delay(crashes: int) -> float:
    """Seconds to wait before restarting a service that has crashed ``crashes`` times in a row."""
    return 0.0 if crashes == 0 else min(2.0 ** (crashes - 1), RESTART_BACKOFF_MAX_S)


@dataclass
class Process:
    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    # Crash-loop bookkeeping for `supervise`: crashes in a row (reset by a run of STABLE_AFTER_S),
    # when the current run began, and when a dead process is due to be started again.
    crashes: int = 0
    started_at: float = 0.0
    restart_at: float | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def module(self) -> str:
        return "shopvoice.llm_server" if self.name == LLM else f"services.{self.name}"

    def start(self) -> None:
        log = open_log(self.log_path)
        port = {"LLM_PORT": str(self.port)} if self.name == LLM else {"PORT": str(self.port)}
        self.popen = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env={**os.environ, **self.env, **port, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.popen is not None and self.exit_code is None

    @property
    def exit_code(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def log_tail(self, lines: int = 20) -> str:
        """Why a service did not start is in its log; CI output should carry it."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as error:
            return f"(no log: {error})"

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)


@dataclass
class Stack:
    database_url: str
    redis_url: str
    run_dir: Path
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    services: list[str] = field(default_factory=available_services)
    processes: dict[str, Process] = field(default_factory=dict)
    # Run the local LLM server for the NLU (`shopvoice up` and the demo: when installed; tests: when asked).
    llm: bool = False
    llm_start_timeout_s: float = 120.0

    @property
    def llm_url(self) -> str:
        return f"http://127.0.0.1:{self.ports[LLM]}/v1"

    # Identity on internal calls: fresh keys per start (each service its own private key,
    # everyone's public keys); this process signs as `cli`. Off: SHOPVOICE_DEV_MODE, no identity.
    internal_identity: bool = False
    internal_keys: dict[str, str] = field(default_factory=dict)

    def make_keys(self) -> None:
        """A fresh key set (kid = the start time): keys live as long as the stack. The CLI's own
        key is also written (0600) to `cli_keys_path`, so a `shopvoice` command in another
        terminal (seed, tickets) can call the services of this stack."""
        self.internal_keys = identity.keys_for(list(KEY_HOLDERS), f"k{int(time.time())}")
        identity.set_process_identity(identity.Identity(identity.parse_keys(self.internal_keys["cli"])))
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(cli_keys_path(self.run_dir), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.internal_keys["cli"] + "\n")

    def env_of(self, name: str, env: dict[str, str]) -> dict[str, str]:
        """A local stack is development (SHOPVOICE_DEV_MODE: the gateway takes the development
        AUTH_KEYS); with keys, internal calls are authenticated all the same."""
        return {"SHOPVOICE_DEV_MODE": "1", **env, "INTERNAL_KEYS": self.internal_keys.get(name, "")}

    def env(self) -> dict[str, str]:
        llm = (
            {
                "VLLM_URL": self.llm_url,
                "VLLM_MODEL": os.environ.get("LLM_MODEL_ALIAS", "qwen2.5-coder-1.5b-instruct"),
                "VLLM_RESPONSE_FORMAT": "json_object",
                # The 1.5B model on two CPU cores writes 7-9 tokens/s: an answer of 17-29 tokens takes
                # 2.4-3.6 s (docs/benchmarks.md), so the 3 s default would cut half of them off.
                "VLLM_TIMEOUT_S": os.environ.get("VLLM_TIMEOUT_S", str(LOCAL_LLM_TIMEOUT_S)),
            }
            if self.llm
            else {}
        )
        return {
            **llm,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CATALOG_ADDR": f"127.0.0.1:{self.ports['catalog']}",
            "ORDERS_ADDR": f"127.0.0.1:{self.ports['orders']}",
            # The ASR's grammar knows this merchant's products (one merchant per ASR process).
            "ASR_VOCABULARY_MERCHANT_ID": self.extra_env.get("ASR_VOCABULARY_MERCHANT_ID", "demo-shop"),
            "SUPPORT_ADDR": f"127.0.0.1:{self.ports['support']}" if "support" in self.services else "",
            "ASR_ADDR": f"127.0.0.1:{self.ports['asr']}" if "asr" in self.services else "",
            **self.extra_env,
        }

    def start(self, timeout: float = 60, after_catalog: Callable[[str], object] | None = None) -> None:
        """Start the services in order; `after_catalog(catalog_address)` runs as soon as the
        catalog serves, before the others start: the ASR compiles its grammar from the
        products it finds at start, so a shop seeded there is heard from the first word."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = self.env()
        if self.internal_identity and not self.internal_keys:
            self.make_keys()
        if self.llm:
            self._start_llm(env)
        order = sorted(self.services, key=lambda name: name != "catalog")  # stable: catalog first
        for name in order:
            process = Process(name, self.ports[name], self.env_of(name, env), self.run_dir / f"{name}.log")
            self.processes[name] = process
            if _port_taken(process.port):
                self.stop()
                raise StackError(
                    f"port {process.port} for {name} is taken: is another stack running? (SHOPVOICE_BASE_PORT moves this one)"
                )
            process.start()
            if not wait_serving(process.address, timeout, process.alive) or not process.alive():
                why = f"exited ({process.exit_code})" if not process.alive() else f"not SERVING after {timeout:.0f} s"
                self.stop()
                raise StackError(f"{name} {why}; the end of {process.log_path}:\n{process.log_tail()}")
            if name == "catalog" and after_catalog is not None:
                try:
                    after_catalog(process.address)
                except BaseException:
                    self.stop()
                    raise

    def _start_llm(self, env: dict[str, str]) -> None:
        """The LLM server first: the NLU warms it up (reads the prompt's prefix) as soon as it starts."""
        # Two threads unless told otherwise (LLM_THREADS). Measured on a 2-core machine running
        # only this stack: with 1 thread an answer took over the NLU's 3 s deadline, every call
        # timed out and the breaker kept the tail shut; with 2, p50 1.8 s, p95 2.6 s
        # (docs/benchmarks.md). On a machine loaded by other work, 2 threads spin waiting for
        # each other (10-30 s per answer seen): set LLM_THREADS=1 there.
        process = Process(
            LLM,
            self.ports[LLM],
            {"LLM_THREADS": os.environ.get("LLM_THREADS", "2"), **env},
            self.run_dir / f"{LLM}.log",
        )
        self.processes[LLM] = process
        if _port_taken(process.port):
            self.stop()
            raise StackError(f"port {process.port} for the LLM server is taken: is another stack running?")
        process.start()
        if not wait_http(f"http://127.0.0.1:{process.port}/openapi.json", self.llm_start_timeout_s, process.alive):
            why = f"exited ({process.exit_code})" if not process.alive() else "not serving"
            self.stop()
            raise StackError(f"the LLM server {why}; the end of {process.log_path}:\n{process.log_tail()}")

    def supervise(self, poll_s: float = 1.0) -> None:
        """Restart any service that dies, until interrupted."""
        while True:
            self.restart_dead(time.monotonic())
            time.sleep(poll_s)

    def restart_dead(self, now: float) -> None:
        """One pass of `supervise`: start again each dead service whose back-off has run out.

        A service that dies at start (a bad setting, a port taken, weights missing) would otherwise
        be restarted every second for ever, filling its log and a core; as Kubernetes' CrashLoopBackOff
        does, the wait doubles with each crash in a row (1, 2, 4 ... 60 s) and a run of a minute
        clears it, so a service that crashes once a day comes straight back."""
        for process in self.processes.values():
            if process.alive():
                continue
            if process.restart_at is None:
                if now - process.started_at >= STABLE_AFTER_S:
                    process.crashes = 0
                delay = restart_delay(process.crashes)
                process.restart_at = now + delay
                code = process.popen.returncode if process.popen else None
                when = "now" if delay == 0 else f"in {delay:g} s (crashed {process.crashes} times in a row)"
                print(f"{process.name} exited ({code}); restarting {when}", flush=True)
            if now >= process.restart_at:
                process.restart_at = None
                process.crashes += 1
                process.restarts += 1
                process.start()

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            self.processes[name].stop()

    @property
    def gateway(self) -> str:
        return f"127.0.0.1:{self.ports['gateway']}"
