"""Symbols typed for words: "A100 price -> 349", "库存=50", "k12 stock +15", "库存<8的", "1.2k".

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
# In Chinese a sign stands after a name or a measure word as often as after a space (短裤+10件,
# 各+20件, 库存-3); a hyphen between letters and digits (TS-1) stays a code's.
_ZH_PLUS = re.compile(r"(?:(?<=[\s\u3400-\u9fff])|^)\+(?=\d)")
_ZH_MINUS = re.compile(r"(?:(?<=[\s\u3400-\u9fff])|^)-(?=\d)")
# "库存<8的", "stock < 5": below a number, as a low-stock threshold is said ("<=" and "≤" too:
# the threshold is the number said either way, as "20 or fewer" gives 20).
_BELOW = re.compile(r"\s*(?:<=|≤|<|＜)\s*(?=\d)")
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
        text = _BELOW.sub("低于", text)
        text = _ARROW.sub("改成", text)
        text = _ZH_MINUS.sub("减", _ZH_PLUS.sub("加", text))
    else:
        text = _BELOW.sub(" under ", text)
        text = _ARROW.sub(" to ", text)
        text = _MINUS.sub("minus ", _PLUS.sub("plus ", text))
    return _THOUSANDS.sub(_thousands, text)
