"""Read-back of spoken changes (services/nlu/readback.py): which spoken commands wait for a "yes"."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from services.nlu import readback
from shopvoice.common.v1.command_pb2 import StageTiming
from shopvoice.grammar.commands import build_command


@pytest.mark.parametrize(
    ("command", "confidence", "engine", "decision"),
    [
        ({"intent": "set_price", "slots": {"sku": "B200", "price": "189.00"}}, 0.99, "grammar", "read_back"),
        ({"intent": "adjust_stock", "slots": {"sku": "B200", "delta": 5}}, 0.99, "grammar", "act"),
        ({"intent": "adjust_stock", "slots": {"sku": "B200", "delta": 5}}, 0.5, "grammar", "read_back"),
        ({"intent": "adjust_stock", "slots": {"sku": "B200", "delta": 51}}, 0.99, "grammar", "read_back"),
        ({"intent": "adjust_stock", "slots": {"sku": "B200", "delta": 5}}, 0.99, "whisper", "read_back"),
        ({"intent": "query_stock", "slots": {"sku": "B200"}}, 0.1, "whisper", "act"),
        ({"intent": "refund_order", "slots": {"order_id": "1234"}}, 1.0, "grammar", "read_back"),
        # a tone was heard as "undo": it would have reverted the last change unasked
        ({"intent": "undo", "slots": {}}, 0.99, "grammar", "read_back"),
    ],
)
def test_only_a_sure_small_change_is_acted_on_at_once(
    command: dict[str, object], confidence: float, engine: str, decision: str
) -> None:
    assert readback.spoken_decision(command, confidence, engine) == decision


def test_the_prompt_reads_back_the_heard_values() -> None:
    command = build_command("set_price", {"sku": "B200", "price": Decimal("189.00")})
    assert readback.spoken_readback(command, 1.0, "grammar", chinese=False) == (
        "Heard: Set the price of B200 to 189.00. Confirm?"
    )
    assert "确认吗" in readback.spoken_readback(command, 1.0, "grammar", chinese=True)


def test_undoing_several_changes_is_read_back_with_how_many() -> None:
    several = build_command("undo", {"count": 3})
    assert (
        readback.spoken_readback(several, 1.0, "grammar", chinese=False) == "Heard: Undo your last 3 changes. Confirm?"
    )
    assert "最近3次修改" in readback.spoken_readback(several, 1.0, "grammar", chinese=True)
    one = build_command("undo", {})
    assert readback.spoken_readback(one, 1.0, "grammar", chinese=False) == "Heard: Undo the last change. Confirm?"


@dataclass
class _Utterance:
    timings: list[StageTiming] = field(default_factory=list)


@dataclass
class _Decision:
    kind: str
    command: object


def test_a_spoken_change_is_read_back_a_typed_one_or_a_yes_is_not() -> None:
    command = build_command("set_price", {"sku": "B200", "price": Decimal("189.00")})
    spoken = _Utterance([StageTiming(stage="audio_end")])
    typed = _Utterance([StageTiming(stage="parsed")])
    run = _Decision("execute", command)
    assert readback.read_back_instead(spoken, run, "set_price", chinese=False).startswith("Heard: Set the price of")
    assert readback.read_back_instead(typed, run, "set_price", chinese=False) == ""
    assert readback.read_back_instead(spoken, run, "confirm", chinese=False) == ""  # the "yes" that runs it
    assert readback.read_back_instead(spoken, _Decision("propose", command), "set_price", chinese=False) == ""
    restock = _Decision("execute", build_command("adjust_stock", {"sku": "A100", "delta": 12}))
    assert readback.read_back_instead(spoken, restock, "adjust_stock", False, confidence=0.95) == ""
    assert readback.read_back_instead(spoken, restock, "adjust_stock", False, confidence=0.5).startswith("Heard")
