"""Product codes and ids as people say them.

"A 100", "a 100" (from "a one hundred") and "A100" are one SKU; "SF 123456" is
one tracking number. A short run of letters followed by digits is joined, unless
the letters are an English word ("to 99") or the digits are a quantity, amount or
percentage ("a 20% discount", "a 10 dollar refund"). Letters spelled one by one,
as a recogniser writes them ("s f 123456"), are first joined into one code
("SF 123456"), except the one-letter words "a" and "i".
"""

from __future__ import annotations

import re

_COMMON_WORDS = frozenset(
    [
        "i",
        "to",
        "of",
        "at",
        "by",
        "in",
        "on",
        "is",
        "it",
        "as",
        "be",
        "me",
        "my",
        "we",
        "us",
        "so",
        "no",
        "do",
        "go",
        "up",
        "or",
        "an",
        "if",
        "am",
        "are",
        "was",
        "via",
        "for",
        "and",
        "the",
        "per",
        "off",
    ]
)
_LETTERS_THEN_DIGITS = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{1,3})[ -](\d+)(?![\d.])"
    r"(?! ?(?:%|percent|dollars?|bucks|quid|cents?|units?|pieces?|pcs|items?|yuan|元|块|件|个|折))"
)


# Two or three letters said one by one, before digits: "s f 123456".
_SPELLED_LETTERS = re.compile(r"(?<![A-Za-z0-9])((?:[A-Za-z] ){1,2}[A-Za-z])(?= \d)")


def _join_spelled(match: re.Match[str]) -> str:
    letters = match.group(1).split()
    if any(letter.lower() in ("a", "i") for letter in letters):
        return match.group(0)
    return "".join(letters).upper()


# A colour then T is a tee (T恤): 白T 75 and 白T七十五 (白T75 once Chinese spaces and numbers are
# done) are the white tee and its amount, never a code T75.
_TEE_COLOURS = "红白黑灰蓝绿黄紫粉橙棕"


def _join(match: re.Match[str]) -> str:
    letters, digits = match.group(1), match.group(2)
    if letters.lower() in _COMMON_WORDS:
        return match.group(0)
    before = match.string[match.start() - 1] if match.start() else ""
    if letters.upper() == "T" and before and before in _TEE_COLOURS:
        return match.group(0)  # 白T 75: the white tee (T恤) and its price, not a code T75
    if len(letters) > 1 and not letters.isupper():
        return match.group(0)
    return f"{letters.upper()}{digits}"


_COLOUR_TEE_THEN_DIGITS = re.compile(rf"(?<=[{_TEE_COLOURS}])([Tt])(?=\d)")


def join_codes(text: str) -> str:
    """Join spoken letter+number codes: 'a 100' -> 'A100', 'SF 123456' -> 'SF123456'."""
    if not any(ch.isdigit() for ch in text):
        return text
    text = _COLOUR_TEE_THEN_DIGITS.sub(r"\1 ", text)
    return _LETTERS_THEN_DIGITS.sub(_join, _SPELLED_LETTERS.sub(_join_spelled, text))
