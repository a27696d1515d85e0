"""What a person sees when something is wrong: one line that says what to do, a non-zero
exit status, never a traceback. Run as a person runs it: the command in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopvoice_cli import main as cli
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess


def shopvoice(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def gateway(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    from tests.support import servers

    with servers.fresh_database(pg_admin_url) as database_url, servers.stream_namespace(redis_url) as prefix:
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "STREAM_PREFIX": prefix,
            "ASR_ADDR": "",
            "SUPPORT_ADDR": "",
        }
        process = ServiceProcess("gateway", env, tmp_path_factory.mktemp("gateway")).start()
        yield process
        process.stop()


def test_a_gateway_that_is_not_running_is_one_line_saying_how_to_start_one() -> None:
    address = f"127.0.0.1:{free_port()}"
    done = shopvoice("say", "--gateway", address, "set A100 to 99")
    assert done.returncode == 1
    assert one_line(done) == (
        f"shopvoice say: cannot reach the gateway at {address}: is it running? `shopvoice up` starts the local"
        " stack; --gateway (or SHOPVOICE_GATEWAY) names another"
    )


def test_a_token_the_gateway_refuses_is_one_line_saying_how_to_get_one(gateway: ServiceProcess) -> None:
    done = shopvoice("say", "--gateway", gateway.address, "set A100 to 99", SHOPVOICE_TOKEN="not-a-token")
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith("shopvoice say: the gateway refused the token (invalid token:"), line
    assert "mint one with `shopvoice token`" in line


def test_a_bad_flag_is_one_line_pointing_at_help() -> None:
    done = shopvoice("say", "--role", "boss", "hello")
    assert done.returncode == 2
    assert one_line(done) == (
        "shopvoice say: argument --role: invalid choice: 'boss' (choose from 'owner', 'staff', 'viewer')"
        " (see `shopvoice say --help`)"
    )


def test_a_file_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    done = shopvoice("speak", "--dry-run", str(tmp_path / "missing.wav"))
    assert done.returncode == 2
    assert one_line(done) == f"shopvoice speak: cannot read {tmp_path / 'missing.wav'}: No such file or directory"


def test_bad_auth_keys_are_one_line() -> None:
    done = shopvoice("token", AUTH_KEYS="no-colon-here")
    assert done.returncode == 2
    assert one_line(done).startswith("shopvoice token: AUTH_KEYS entries are kid:ALG:MATERIAL")


def test_a_database_that_does_not_answer_is_one_line() -> None:
    done = shopvoice("seed", "--orders", "5", DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/shop")
    assert done.returncode == 1
    line = one_line(done)
    assert line.startswith("shopvoice seed: the database does not answer (connection failed:"), line
    assert line.endswith("set DATABASE_URL to a Postgres that does")


def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only failures a person can act on are shortened; anything else is ours to fix, in full."""

    def broken(_args: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "cmd_token", broken)
    with pytest.raises(ZeroDivisionError):
        cli.main(["token"])


def test_a_refused_token_is_reported_as_refused_every_time(gateway: ServiceProcess) -> None:
    """The client sends its SessionStart as the call opens; a gateway that refused the token
    before reading it raced that send, and the client then saw INTERNAL ("Internal error from
    Core") instead of the refusal now and then (grpc/grpc#36066). Forty sessions, one status."""
    import asyncio

    import grpc

    from shopvoice_cli.client import Conversation

    async def attempt() -> grpc.StatusCode | None:
        try:
            async with Conversation(gateway.address, "not-a-token", timeout_s=10):
                return None
        except grpc.aio.AioRpcError as exc:
            return exc.code()

    async def run() -> list[grpc.StatusCode | None]:
        return [await attempt() for _ in range(40)]

    assert set(asyncio.run(run())) == {grpc.StatusCode.UNAUTHENTICATED}
