"""What goes wrong at a terminal, said in one line with what to do about it.

`main` runs every command under `explain`: a failure it knows (the gateway or another
server refusing or not answering, a file that cannot be read, a database that does not
answer, a bad AUTH_KEYS, a bad flag) becomes one line on stderr and a non-zero exit
status. Anything else is a bug and keeps its traceback.

Exit status: 2 for what the person typed (a flag, a file, an option), 1 for the rest.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import grpc

# What `explain` needs (grpc, psycopg, the library's errors) is imported when something
# went wrong: `shopvoice parse`, run once per utterance by evaluations, stays quick to start.


class Parser(argparse.ArgumentParser):
    """argparse, whose usage errors are one line pointing at --help instead of the usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


class CliError(Exception):
    """A failure the CLI has already put into words (the message says what to do)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Server:
    """Which server a command talks to, where, and how a person points it elsewhere."""

    name: str  # "the gateway"
    address: str
    option: str  # "--gateway (or SHOPVOICE_GATEWAY)"


def explain(exc: BaseException, server: Server | None) -> tuple[str, int] | None:
    """(one line, exit status) for a failure a person can act on; None for a bug."""
    import grpc
    import psycopg

    from shopvoice.errors import DomainError
    from shopvoice_cli.client import SessionClosed
    from shopvoice_cli.stack import StackError

    if isinstance(exc, CliError):
        return str(exc), exc.exit_code
    if isinstance(exc, SessionClosed):
        return f"{exc}: see the gateway's log", 1
    if isinstance(exc, StackError):  # its first line says what failed; the log's last lines follow, for CI
        return str(exc), 1
    if isinstance(exc, grpc.RpcError):
        return rpc_problem(exc, server), 1
    if isinstance(exc, psycopg.OperationalError):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"the database does not answer ({first}): set DATABASE_URL to a Postgres that does", 1
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return f"cannot read {exc.filename}: {exc.strerror}", 2
    if isinstance(exc, ConnectionError):
        where = f" {server.name} at {server.address}" if server else ""
        return f"cannot connect to{where}: {exc.strerror or exc}", 1
    if isinstance(exc, DomainError):
        return str(exc), 1
    if isinstance(exc, TimeoutError):
        where = f"{server.name} at {server.address}" if server else "the server"
        return f"no answer from {where} in time: is it overloaded, or still starting?", 1
    return None


def rpc_problem(exc: grpc.RpcError, server: Server | None) -> str:
    import grpc

    code: grpc.StatusCode = exc.code()
    details: str = exc.details() or code.name
    name = server.name if server else "the server"
    if code == grpc.StatusCode.UNAVAILABLE:
        if server is None:
            return f"the server is unavailable ({details})"
        return (
            f"cannot reach {server.name} at {server.address}: is it running? `shopvoice up` starts the local"
            f" stack; {server.option} names another"
        )
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return (
            f"{name} refused the token ({details}): unset SHOPVOICE_TOKEN to use a development token, or mint one"
            " with `shopvoice token` under the gateway's AUTH_KEYS"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"{name} did not answer in time: is it overloaded, or still starting?"
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return f"{name} is at its limit ({details}); retry in a moment"
    return f"{name} said {code.name}: {details}"


def report(command: str, exc: BaseException, server: Server | None) -> int:
    """Print the one line for `exc` and return the exit status; re-raise a bug."""
    explained = explain(exc, server)
    if explained is None:
        raise exc
    line, status = explained
    print(f"shopvoice {command}: {line}", file=sys.stderr)
    return status
