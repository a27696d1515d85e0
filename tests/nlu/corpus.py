"""The hand-written utterance set (utterances.tsv) and how a parse is compared to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).with_name("utterances.tsv")
HELDOUT = Path(__file__).with_name("heldout.tsv")
_INT_SLOTS = frozenset({"quantity", "delta", "threshold", "count", "bulk_threshold"})
_MONEY_DELTA_INTENTS = frozenset({"adjust_price", "bulk_adjust_price"})


@dataclass(frozen=True)
class Case:
    """One utterance and the command it must parse to."""

    text: str
    intent: str
    slots: dict[str, Any]
    line: int

    def expected(self) -> dict[str, Any]:
        return {"intent": self.intent, "slots": self.slots}


def _slots(field: str, intent: str, text: str) -> dict[str, Any]:
    if intent == "unknown":
        return {"text": text}
    slots: dict[str, Any] = {}
    for pair in filter(None, field.split(";")):
        name, _, value = pair.partition("=")
        # adjust_price's delta is money ("-10.00"); adjust_stock's is an integer.
        is_int = name in _INT_SLOTS and intent not in _MONEY_DELTA_INTENTS
        if name == "skus":
            slots[name] = value.split(",")  # a list, in the order said
        else:
            slots[name] = int(value) if is_int else value
    return slots


def load_cases(path: Path = CORPUS) -> Iterator[Case]:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        text, intent, *rest = line.split("\t")
        yield Case(text, intent, _slots(rest[0] if rest else "", intent, text), number)
