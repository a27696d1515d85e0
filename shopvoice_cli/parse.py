"""``shopvoice parse [--json] TEXT...``: the fast path from a shell.

With ``-`` as the only text, reads one utterance per line from stdin and answers
one line each, in order (for batch checks and load tests). JSON output is exactly
``command_to_json`` (docs/design.md's form), one object per line, ensure_ascii=False.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import TextIO

from shopvoice.grammar.commands import command_to_json
from shopvoice.grammar.parser import parse
from shopvoice_cli.errors import Parser


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="shopvoice parse", description=__doc__)
    parser.add_argument("--json", action="store_true", help="one JSON command per line")
    parser.add_argument("texts", nargs="+", metavar="TEXT", help="utterances, or - for stdin")
    return parser


def _describe(text: str, as_json: bool) -> str:
    result = parse(text)
    payload = command_to_json(result.command)
    if as_json:
        return json.dumps(payload, ensure_ascii=False)
    slots = " ".join(f"{k}={v}" for k, v in payload["slots"].items())
    return f"{payload['intent']} {slots}".rstrip() + (
        f"  (confidence {result.confidence:.2f}, {result.language}: {result.normalized})"
    )


def _texts(args: list[str], stdin: TextIO) -> Iterable[str]:
    if args == ["-"]:
        for line in stdin:
            yield line.rstrip("\r\n")
    else:
        yield from args


def run(argv: list[str], stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Entry point for the ``parse`` subcommand; returns the exit status."""
    args = _parser().parse_args(argv)
    out = stdout or sys.stdout
    for text in _texts(args.texts, stdin or sys.stdin):
        out.write(_describe(text, args.json) + "\n")
        out.flush()
    return 0


def main() -> None:  # pragma: no cover - thin wrapper for python -m
    raise SystemExit(run(sys.argv[1:]))


if __name__ == "__main__":  # pragma: no cover
    main()
