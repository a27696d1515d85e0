"""Symbols typed for words: "A100 price -> 349", "库存=50", "k12 stock +15", "1.2k".

A merchant typing fast writes an arrow or an equals sign for "to", a signed number for "add" or
"take off", and "k" for thousand. They become the words the grammar reads, before punctuation
is cleared away (which would drop the sign and the arrow and leave the number alone).
"""

from __future__ import annotations

import re

from shopvoice.text.amounts import parse_decimal

_ARROW = re.compile(r"\s*(?:->|=>|-->|→|⇒|⟶|=)\s*")
# A sign that starts a number standing alone ("stock +15", "-3 A100"), not one inside a code
# or a range ("TS-1", "10-20").
_PLUS = re.compile(r"(?:(?<=\s)|^)\+(?=\d)")
_MINUS = re.compile(r"(?:(?<=\s)|^)-(?=\d)")
_THOUSANDS = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?) ?k\b", re.IGNORECASE)


def _thousands(match: re.Match[str]) -> str:
    said = parse_decimal(match.group(1))
    if said is None:
        return match.group(0)
    value = said * 1000
    return str(int(value)) if value == value.to_integral_value() else match.group(0)


def read_symbols(text: str, language: str) -> str:
    """The words ``text``'s typed symbols stand for, in ``language`` ("en" or "zh")."""
    if language == "zh":
        text = _ARROW.sub("改成", text)
    else:
        text = _ARROW.sub(" to ", text)
        text = _MINUS.sub("minus ", _PLUS.sub("plus ", text))
    return _THOUSANDS.sub(_thousands, text)
