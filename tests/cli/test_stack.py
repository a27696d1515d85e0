"""The local stack's ports and start-up errors: what `make demo` / `shopvoice up` users see."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shopvoice_cli.stack import (
    BASE_PORT,
    DEFAULT_PORTS,
    MAX_BASE_PORT,
    STABLE_AFTER_S,
    Process,
    Stack,
    ports_from,
    restart_delay,
)
from tests.support import servers
from tests.support.processes import free_stack_ports, tree_pids


def test_a_base_port_moves_every_service_by_the_same_offset() -> None:
    moved = ports_from(21000)
    assert moved["gateway"] == 21000
    assert {name: port - 21000 for name, port in moved.items()} == {
        name: port - BASE_PORT for name, port in DEFAULT_PORTS.items()
    }
    assert ports_from(BASE_PORT) == DEFAULT_PORTS
    assert max(ports_from(MAX_BASE_PORT).values()) == 65535


@pytest.mark.parametrize("base", [80, MAX_BASE_PORT + 1])
def test_a_base_port_out_of_range_is_refused(base: int) -> None:
    with pytest.raises(ValueError, match=str(base)):
        ports_from(base)


@pytest.mark.parametrize("value", ["http", "80"])
def test_demo_with_a_bad_base_port_says_so_and_starts_nothing(value: str, tmp_path: Path) -> None:
    env = {**os.environ, "SHOPVOICE_BASE_PORT": value, "SHOPVOICE_RUN_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", "demo"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert f"SHOPVOICE_BASE_PORT={value!r}: the gateway's port, 1024..{MAX_BASE_PORT}" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "logs").exists(), "nothing should have started"


def test_a_service_that_exits_at_start_is_reported_at_once_with_its_log(redis_url: str, tmp_path: Path) -> None:
    stack = Stack(
        database_url="postgresql://127.0.0.1:1/nowhere",  # refused: the catalog cannot start
        redis_url=redis_url,
        run_dir=tmp_path,
        ports=free_stack_ports(),
        services=["catalog", "orders"],
    )
    started = time.monotonic()
    with pytest.raises(RuntimeError) as failure:
        stack.start(timeout=60)
    assert time.monotonic() - started < 30, "an exited process should not be waited on for the whole timeout"
    message = str(failure.value)
    assert message.startswith("catalog exited (1)")
    assert "port 1 failed: Connection refused" in message  # the log's last lines, so CI output says why
    assert "orders" not in stack.processes, "nothing after the failed service is started"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_up_stopped_by_a_signal_stops_every_service(
    signum: int, pg_admin_url: str, redis_url: str, tmp_path: Path
) -> None:
    """`shopvoice up &` then `kill` (or SIGINT, which a background job's shell had ignored): every
    service stops with it. Before, the services lived on, orphaned, holding the stack's ports."""
    with servers.fresh_database(pg_admin_url) as database_url:
        env = {
            **os.environ,
            "SHOPVOICE_BASE_PORT": str(free_stack_ports()["gateway"]),
            "SHOPVOICE_RUN_DIR": str(tmp_path),
            "SHOPVOICE_LLM": "off",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
        }
        # SIGINT ignored, as `cmd &` in a script, by the shell that then execs the stack (same pid).
        # Not by preexec_fn: it makes Python fork() this gRPC-using test process, and gRPC's poller,
        # restarted in the child, can crash it before exec (grpc/grpc#43055; seen once in CI).
        up = subprocess.Popen(
            ["sh", "-c", f"trap '' INT; exec {shlex.quote(sys.executable)} -m shopvoice_cli.main up"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert up.stdout is not None
        try:
            lines = []
            for line in up.stdout:
                lines.append(line)
                if line.startswith("gateway on "):
                    break
            else:
                pytest.fail("".join(lines))
            services = tree_pids(up.pid)[1:]
            assert len(services) >= 6, services
            up.send_signal(signum)
            assert up.wait(timeout=60) == 0
            time.sleep(0.5)
            alive = [pid for pid in services if Path(f"/proc/{pid}").exists() and "Z" not in _state(pid)]
            assert not alive, f"still running after `up` stopped: {alive}"
        finally:
            for pid in tree_pids(up.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            up.wait(timeout=10)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def test_restart_delay_doubles_per_crash_in_a_row_up_to_a_minute() -> None:
    assert [restart_delay(n) for n in range(9)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]


def test_a_crash_looping_service_is_restarted_after_a_growing_wait(
    redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A real catalog process that dies at start (its database refuses), supervised pass by pass
    # with the clock given: the first crash restarts at once, the next ones wait 1 s, then 2 s.
    process = Process(
        "catalog",
        free_stack_ports()["catalog"],
        {"DATABASE_URL": "postgresql://127.0.0.1:1/nowhere", "REDIS_URL": redis_url},
        tmp_path / "catalog.log",
    )
    stack = Stack(database_url="postgresql://127.0.0.1:1/nowhere", redis_url=redis_url, run_dir=tmp_path)
    stack.processes["catalog"] = process
    starts: list[float] = []

    def run_to_exit() -> float:
        assert process.popen is not None
        process.popen.wait(60)
        return process.started_at + 1  # "now": a second into the run that just died

    process.start()
    now = run_to_exit()
    for expected_wait in (0, 1, 2):
        stack.restart_dead(now)  # sees the exit, schedules the restart
        if expected_wait:
            assert not process.alive() and process.restart_at == pytest.approx(now + expected_wait)
            stack.restart_dead(now + expected_wait - 0.5)  # too early: still waiting
            assert process.popen is not None and process.popen.poll() is not None
            stack.restart_dead(now + expected_wait)
        starts.append(process.started_at)
        now = run_to_exit()
    assert process.restarts == 3 and len(set(starts)) == 3, "each pass that was due started a new process"
    said = capsys.readouterr().out
    assert "catalog exited (1); restarting now" in said
    assert "restarting in 2 s (crashed 2 times in a row)" in said

    # A run longer than STABLE_AFTER_S is not a crash loop: the next crash restarts at once.
    stack.restart_dead(process.started_at + STABLE_AFTER_S + 1)
    assert process.crashes == 1 and process.restart_at is None
    process.stop()
