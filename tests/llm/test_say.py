"""`shopvoice say --json`: one line per text in `parse --json`'s form, with source, candidates and error."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli.client import Turn
from shopvoice_cli.say import as_json, texts_of

ROOT = Path(__file__).resolve().parents[2]


def turn(*messages: gw.ServerMessage) -> Turn:
    return Turn(text="x", utterance_id="u", messages=list(messages))


def test_a_command_is_printed_as_parse_json_prints_it_with_its_source() -> None:
    command = cmd.Command(set_price=cmd.SetPrice(sku="A100", price=Money(units=89)))
    understood = gw.ServerMessage(understood=gw.Understood(command=command, source="llm"))
    done = gw.ServerMessage(result=gw.Result(status=gw.RESULT_STATUS_OK, message="dry run: not executed"))
    assert as_json(turn(understood, done)) == {
        "intent": "set_price",
        "slots": {"sku": "A100", "price": "89.00"},
        "source": "llm",
    }


def test_several_products_leave_the_sku_out_and_list_the_candidates_sorted() -> None:
    command = cmd.Command(query_stock=cmd.QueryStock(sku="卫衣"))
    understood = gw.ServerMessage(understood=gw.Understood(command=command, source="grammar"))
    ask = gw.ServerMessage(
        clarification=gw.Clarification(prompt="哪一个？", missing_slot="sku", candidates=["F9", "F8"])
    )
    assert as_json(turn(understood, ask)) == {
        "intent": "query_stock",
        "slots": {},
        "source": "grammar",
        "candidates": ["F8", "F9"],
    }


def test_no_understanding_is_unknown_with_the_error() -> None:
    error = gw.ServerMessage(error=gw.Error(code="INVALID_ARGUMENT", message="empty text"))
    assert as_json(turn(error)) == {"intent": "unknown", "slots": {}, "error": "INVALID_ARGUMENT: empty text"}


def test_dash_reads_one_utterance_per_line() -> None:
    assert texts_of(["-"], io.StringIO("set a100 to 5\r\n卫衣还有多少\n")) == ["set a100 to 5", "卫衣还有多少"]
    assert texts_of(["a", "b"], io.StringIO("ignored")) == ["a", "b"]


def test_help_says_what_json_and_dry_run_do() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", "say", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    for words in ("--json", "--dry-run", "first turn of its own session", "shopvoice parse --json", "candidates"):
        assert words in done.stdout, words
