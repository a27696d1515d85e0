"""The fact check every answer passes before it is sent.

An answer may only state numbers, dates, amounts, order ids and tracking numbers
that occur in the facts it was built from (or in the customer's own question).
The check is lexical and strict on purpose: it is cheap, it cannot be argued
with, and a false alarm only costs the LLM's wording (the template answer, built
from the facts alone, is sent instead). Chinese numerals are read as digits
first (三天 -> 3天), so a model cannot slip a number past it in words; English
number words are read the same way.
"""

from __future__ import annotations

import re
import unicodedata

from shopvoice.text.en_numbers import normalize_en_numbers
from shopvoice.text.zh_numbers import normalize_zh_numbers

# A token with a digit in it: 1234, 89.00, 2024-05-01, SF123456, 3天 (the digits).
_TOKEN = re.compile(r"[A-Za-z]*\d[A-Za-z0-9]*(?:[.\-:/,][A-Za-z0-9]+)*")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def _canonical(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = normalize_zh_numbers(text)
    text = normalize_en_numbers(text)
    return text.casefold()


def tokens(text: str) -> list[str]:
    """The claims of a text that must be grounded: every token that holds a digit."""
    return [t.rstrip(".,:/-") for t in _TOKEN.findall(_canonical(text))]


def ungrounded(answer: str, facts: str, question: str = "") -> list[str]:
    """The tokens of the answer that no fact (nor the question) contains; [] = the answer passes.

    A token passes when it occurs in the grounding text as a whole token, or when
    each of its numbers does ("89.00" in the facts grounds "89.00 CNY" and "¥89.00").
    """
    # Line by line: a number word at the start of a line ("one size, fits ...") reads as a
    # digit only when the reader sees it there, as it does in the answer.
    grounding = "\n".join(_canonical(line) for line in f"{facts}\n{question}".splitlines())
    known = set(tokens(grounding)) | set(_DIGITS.findall(grounding))
    for number in list(known):
        if "." in number:  # 89.00 also grounds 89 and 89.0 as said in prose
            whole, _, frac = number.partition(".")
            if set(frac) <= {"0"}:
                known.add(whole)
    missing: list[str] = []
    for token in tokens(answer):
        if token in known:
            continue
        if all(number in known for number in _DIGITS.findall(token)) and _letters_grounded(token, grounding):
            continue
        missing.append(token)
    return missing


def _letters_grounded(token: str, grounding: str) -> bool:
    """A code like SF123456 must occur whole: its digits alone do not ground it."""
    letters = re.sub(r"[^a-z]", "", token)
    return not letters or (len(letters) <= 2 and not token[0].isalpha()) or token in grounding
