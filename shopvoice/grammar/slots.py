"""Slot kinds: how each ``{kind}`` in a template is matched and read.

Built-in kinds read normalised text (digits, ASCII): money, quantity, percent,
discount, order_id, tracking, sku/code/title. List kinds (carrier, period,
metric, status, order_status) come from the sentence files as phrase -> value.
A reader returns None to reject a match (a value out of range is no parse).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from shopvoice.text.amounts import MAX_MONEY, discount_to_percent, parse_decimal

SlotValue = str | int | Decimal

SKU_CODE = r"[A-Za-z]{1,4}-?\d{1,10}(?:-[A-Za-z0-9]+)*"
SKU_CODE_RE = re.compile(rf"{SKU_CODE}")
_TITLE = {"zh": r"[^ ].{0,39}?", "en": r"[^ ].{0,59}?"}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
MAX_QUANTITY = 10_000_000

BUILTIN_PATTERNS: dict[str, str] = {
    "money": (
        r"[$¥]?(?:\d{1,3} \d{2}(?!\d)|\d+(?:\.\d+)?)"
        r"(?: ?(?:元钱|元|块钱|块|rmb|人民币|dollars?|bucks|usd|yuan|kuai))?"
    ),
    "quantity": r"\d+(?: ?(?:件|个|台|只|箱|份|条|双|套|瓶|包|盒|units?|pieces?|pcs|items?))?",
    "percent": r"\d+(?:\.\d+)?%",
    "discount": r"\d+(?:\.\d+)?折",
    "order_id": r"#?\d+(?:[ -]\d+)*",
    "tracking": r"[A-Za-z0-9]{4,30}",
    "code": SKU_CODE,
}


_DOLLARS_CENTS = re.compile(r"(\d{1,3}) (\d{2})(?!\d)")


def _money(text: str) -> SlotValue | None:
    # "nine ninety nine" is read "9 99": dollars and cents, as prices are said.
    split = _DOLLARS_CENTS.search(text)
    found = _NUMBER.search(text)
    if split:
        value = parse_decimal(f"{split.group(1)}.{split.group(2)}")
    else:
        value = parse_decimal(found.group(0)) if found else None
    if value is None or value > MAX_MONEY:
        return None
    return value


def _quantity(text: str) -> SlotValue | None:
    found = _NUMBER.search(text)
    if not found or "." in found.group(0):
        return None
    value = int(found.group(0))
    return value if value <= MAX_QUANTITY else None


def _percent(text: str) -> SlotValue | None:
    value = parse_decimal(text.rstrip("%"))
    if value is None or value > 100:
        return None
    return format(value.normalize(), "f") if value else "0"


def _discount(text: str) -> SlotValue | None:
    return discount_to_percent(text.rstrip("折"))


def _order_id(text: str) -> SlotValue | None:
    digits = "".join(ch for ch in text if ch.isdigit())
    return digits if 0 < len(digits) <= 24 else None


def _upper(text: str) -> SlotValue | None:
    return text.upper()


def _raw(text: str) -> SlotValue | None:
    return text.strip() or None


BUILTIN_READERS: dict[str, Callable[[str], SlotValue | None]] = {
    "money": _money,
    "quantity": _quantity,
    "percent": _percent,
    "discount": _discount,
    "order_id": _order_id,
    "tracking": _upper,
    "code": _upper,
    "sku": _raw,
    "title": _raw,
}


def phrase_key(text: str, language: str) -> str:
    """Lookup form of a list phrase: case-folded, spaces collapsed (zh: removed)."""
    sep = "" if language == "zh" else " "
    return sep.join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class SlotKinds:
    """The slot kinds of one language: built-ins plus the phrase lists."""

    language: str
    lists: Mapping[str, Mapping[str, str]]

    def pattern(self, kind: str) -> str:
        """Regex source matching one value of ``kind`` (case-insensitive)."""
        if kind in BUILTIN_PATTERNS:
            return BUILTIN_PATTERNS[kind]
        if kind == "sku":
            return f"{SKU_CODE}|{_TITLE[self.language]}"
        if kind == "title":
            return _TITLE[self.language]
        phrases = self.lists.get(kind)
        if phrases is None:
            raise KeyError(kind)
        ordered = sorted(phrases, key=len, reverse=True)
        return "|".join(
            r"\ ?".join(re.escape(w) for w in p.split())
            if self.language == "zh"
            else " ".join(re.escape(w) for w in p.split())
            for p in ordered
        )

    def read(self, kind: str, text: str) -> SlotValue | None:
        """The typed value of matched ``text``; None rejects the match."""
        reader = BUILTIN_READERS.get(kind)
        if reader is not None:
            return reader(text)
        return self.lists[kind].get(phrase_key(text, self.language))

    def known(self, kind: str) -> bool:
        return kind in BUILTIN_READERS or kind in self.lists
