"""The local stack's ports and start-up errors: what `make demo` / `shopvoice up` users see."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shopvoice_cli.stack import BASE_PORT, DEFAULT_PORTS, MAX_BASE_PORT, Stack, ports_from
from tests.support.processes import free_stack_ports


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
