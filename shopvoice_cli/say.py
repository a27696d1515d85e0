"""``shopvoice say [--json] [--dry-run] TEXT...``: typed commands through the live stack.

Each TEXT goes to the gateway (``shopvoice up`` runs one on loopback; --gateway or
SHOPVOICE_GATEWAY points elsewhere) and through the whole pipeline: grammar, the LLM tail
when one is configured, catalog resolution against the merchant's live catalog, the dialogue.
With ``-`` as the only TEXT, one utterance per line of stdin.

Without --json: one session, the texts as its turns in order, the conversation printed as it
goes (a confirmation asked for is answered by a later "confirm").

With --json: each text is the first turn of its own session (no context from the others),
and one JSON line is printed per text, in order:
  {"intent": ..., "slots": {...}, "source": ...}
``intent`` and ``slots`` exactly as ``shopvoice parse --json`` prints them (docs/design.md's
form: money "99.00", signed percent "-20", enums lower case), with SKUs resolved against the
catalog; ``source`` says who understood it (grammar or llm). A name that fits several products
leaves ``sku`` out and adds ``"candidates": [SKU, ...]`` (sorted). A turn that got no
understanding adds ``"error"`` and is ``unknown``.

With --dry-run nothing is executed: each command is understood and resolved, then answered
"not executed" (nothing changes, nothing is remembered).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import grpc

from shopvoice_cli import render
from shopvoice_cli.client import Conversation, Turn

RATE_LIMIT_RETRIES = 50
_RETRY_AFTER = re.compile(r"retry after ([0-9.]+) ?s")


def add_arguments(parser: argparse.ArgumentParser, gateway_default: str) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("text", nargs="+", metavar="TEXT", help="utterances, or - to read one per line from stdin")
    parser.add_argument(
        "--json", action="store_true", help="each text the first turn of its own session; one JSON line per text"
    )
    parser.add_argument("--dry-run", action="store_true", help="understand and resolve, execute nothing")
    parser.add_argument(
        "--gateway", default=gateway_default, help="host:port (default SHOPVOICE_GATEWAY, else the local stack's)"
    )
    parser.add_argument("--merchant", default="demo-shop", help="for the development token")
    parser.add_argument("--role", default="owner", choices=("owner", "staff", "viewer"))
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one turn's answer")


def texts_of(args: list[str], stdin: TextIO) -> list[str]:
    if args == ["-"]:
        return [line.rstrip("\r\n") for line in stdin]
    return list(args)


def as_json(turn: Turn) -> dict[str, Any]:
    """One turn as `parse --json` prints a command, plus source, candidates and error when there are any."""
    from shopvoice.grammar.commands import command_to_json

    understood = turn.understood
    if understood is None:
        out: dict[str, Any] = {"intent": "unknown", "slots": {}}
        final = turn.final
        if final is not None and final.WhichOneof("kind") == "error":
            out["error"] = f"{final.error.code}: {final.error.message}"
        elif final is not None and final.WhichOneof("kind") == "result":
            out["error"] = final.result.message
        return out
    out = dict(command_to_json(understood.command))
    out["source"] = understood.source
    final = turn.final
    if final is not None and final.WhichOneof("kind") == "clarification" and final.clarification.candidates:
        out["slots"] = {k: v for k, v in out["slots"].items() if k != "sku"}
        out["candidates"] = sorted(final.clarification.candidates)
    return out


async def _first_turn(gateway: str, token: str, text: str, dry_run: bool, timeout_s: float) -> dict[str, Any]:
    """One session for one text. A batch runs faster than the gateway's per-user rate limit lets a
    person type: a session refused for it (RESOURCE_EXHAUSTED) waits as advised and tries again."""
    for attempt in range(RATE_LIMIT_RETRIES):
        try:
            async with Conversation(gateway, token, dry_run=dry_run, timeout_s=timeout_s) as conversation:
                return as_json(await conversation.say(text))
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or attempt == RATE_LIMIT_RETRIES - 1:
                raise
            advised = _RETRY_AFTER.search(exc.details() or "")
            await asyncio.sleep(min(5.0, float(advised[1]) if advised else 0.2) + 0.01)
    raise AssertionError("unreachable")


async def each_first_turn(
    gateway: str, token: str, texts: Iterable[str], dry_run: bool, timeout_s: float, out: TextIO
) -> int:
    """One session per text, one JSON line each, in order; the number of texts."""
    count = 0
    for text in texts:
        line = await _first_turn(gateway, token, text, dry_run, timeout_s)
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        out.flush()
        count += 1
    return count


async def one_session(gateway: str, token: str, texts: list[str], dry_run: bool, timeout_s: float) -> int:
    """The texts as turns of one session, printed as a conversation; the number of turns that went badly."""
    failures = 0
    async with Conversation(gateway, token, dry_run=dry_run, timeout_s=timeout_s) as conversation:
        for text in texts:
            print(f"merchant: {text}", flush=True)
            turn = await conversation.say(text, on_message=lambda m: print(render.line(m), flush=True))
            failures += 0 if render.went_well(turn) else 1
    return failures


def run(args: argparse.Namespace, token: Callable[[], str], stdin: TextIO | None = None) -> int:
    texts = texts_of(args.text, stdin or sys.stdin)
    if args.json:
        asyncio.run(each_first_turn(args.gateway, token(), texts, args.dry_run, args.timeout, sys.stdout))
        return 0
    failures = asyncio.run(one_session(args.gateway, token(), texts, args.dry_run, args.timeout))
    return 1 if failures else 0
