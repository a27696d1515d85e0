"""`shopvoice speak --json`: the transcript, then the turn as `say --json` prints it (candidates included)."""

from __future__ import annotations

import subprocess
import sys

from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli.client import Turn
from shopvoice_cli.speak import as_json


def spoken(*messages: gw.ServerMessage) -> Turn:
    heard = gw.ServerMessage(transcript=gw.Transcript(text="Set the price on the t-shirt to 99.", is_final=True))
    return Turn(text="", utterance_id="u", messages=[heard, *messages])


def test_a_name_that_fits_several_products_lists_the_candidates_as_say_does() -> None:
    """eval/spoken dev, through the stack: the spoken "the t-shirt" was asked about, and the line
    said neither the sku nor the candidates, so no ambiguous spoken line could pass."""
    command = cmd.Command(set_price=cmd.SetPrice(sku="t-shirt", price=Money(units=99)))
    understood = gw.ServerMessage(understood=gw.Understood(command=command, source="grammar"))
    ask = gw.ServerMessage(
        clarification=gw.Clarification(prompt="Which one?", missing_slot="sku", candidates=["A101", "A100"])
    )
    assert as_json(spoken(understood, ask)) == {
        "transcript": "Set the price on the t-shirt to 99.",
        "intent": "set_price",
        "slots": {"price": "99.00"},
        "source": "grammar",
        "candidates": ["A100", "A101"],
    }


def test_nothing_understood_is_unknown_with_the_transcript_and_the_error() -> None:
    error = gw.ServerMessage(error=gw.Error(code="DEADLINE_EXCEEDED", message="no final transcript"))
    assert as_json(spoken(error)) == {
        "transcript": "Set the price on the t-shirt to 99.",
        "intent": "unknown",
        "slots": {},
        "error": "DEADLINE_EXCEEDED: no final transcript",
    }


def test_help_says_what_json_prints() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", "speak", "--help"], capture_output=True, text=True, check=True
    )
    assert "transcript, intent, slots" in " ".join(done.stdout.split())
    assert "candidates" in done.stdout
