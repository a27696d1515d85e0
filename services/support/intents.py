"""What a customer question asks: cue matchers over normalised text, per language.

Customer questions are open-ended ("is the red one still available in L?"), not the
merchant's command language, so what decides the answer is the topic, and the topic shows
in a few cue words. The cues live in data files per language (sentences/zh.yaml,
sentences/en.yaml), reviewed like code, in sections:

- ``intents``: the question's kind (hand-off, a policy topic, an order, price, stock), in
  priority order;
- ``facts``: which product fact it asks about (material, capacity, ...), in priority order;
- ``small_talk``: hello, thanks, bye;
- ``comparison`` and ``fillers``: words that say "several products" or say nothing.

The text is normalised with the NLU's own pipeline first (digits, widths, fillers), so
订单一二三四 and "order one two three four" read as 订单1234 / order 1234.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from shopvoice.text import Normalized, normalize

SENTENCES = Path(__file__).parent / "sentences"

#: Intents that go to a person whatever else the question says.
HANDOFF_INTENTS = frozenset({"human", "complaint", "unanswered"})


@dataclass(frozen=True, slots=True)
class Cue:
    key: str
    text: str
    pattern: re.Pattern[str]


def _pattern(word: str, language: str) -> re.Pattern[str]:
    # Each side of a "*" normalised on its own: normalising the whole cue drops the "*".
    pieces = [normalize(piece).text.casefold() or piece.strip().casefold() for piece in word.split("*")]
    text = " * ".join(pieces)
    parts = [re.escape(piece.strip()) for piece in pieces]
    # Chinese has no spaces, so its cues are substrings; English cues, and the English words
    # of the Chinese file ("hi", "paypal"), are whole words ("hi" is not in "this").
    if language == "zh" and not re.fullmatch(r"[a-z ]+", text):
        return re.compile(".{0,6}?".join(parts))
    body = r"(?:\s+\S+){0,3}\s+".join(parts) if len(parts) > 1 else parts[0]
    if not re.match(r"\w", body[:2]):
        return re.compile(body)  # an emoji cue
    if re.search(r"[a-z]{4}$", text):
        body += "(?:s|es)?"  # "discount codes", "vouchers": a plural of a word cue (not "hi" → "his")
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])")


@lru_cache(maxsize=2)
def _data(language: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((SENTENCES / f"{language}.yaml").read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=16)
def cues(language: str, section: str) -> tuple[Cue, ...]:
    """A section's cues in priority order, normalised the way questions are."""
    found: list[Cue] = []
    for key, words in _data(language)[section].items():
        for word in words:
            found.append(Cue(key, str(word), _pattern(str(word), language)))
    return tuple(found)


@lru_cache(maxsize=8)
def words(language: str, section: str) -> frozenset[str]:
    return frozenset(str(w).casefold() for w in _data(language)[section])


def find(language: str, section: str, folded: str) -> list[str]:
    """Every key of the section with a cue in the (case-folded) text, in priority order:
    the language's cues first, then the other language's ("is the 保温杯 dishwasher safe")."""
    seen: list[str] = []
    for lang in (language, "en" if language == "zh" else "zh"):
        for cue in cues(lang, section):
            if cue.key not in seen and cue.pattern.search(folded):
                seen.append(cue.key)
    return seen


def strip(language: str, section: str, key: str, folded: str) -> str:
    """The text without what the key's cues matched ("有没有" out of "瑜伽垫有没有异味")."""
    for lang in (language, "en" if language == "zh" else "zh"):
        for cue in cues(lang, section):
            match = cue.pattern.search(folded) if cue.key == key else None
            if match is None:
                continue
            # Only the cue's own words: what a "*" spans is what else the question says.
            inside = match.group()
            for piece in cue.text.split("*"):
                inside = inside.replace(piece.strip(), " ", 1)
            folded = folded[: match.start()] + inside + folded[match.end() :]
    return folded


def fold(text: Normalized, raw: str) -> str:
    """What cues are matched against: the normalised text and the raw one (normalisation
    drops English fillers such as "hi", which for a customer are a greeting)."""
    return f"{text.text.casefold()}\n{raw.casefold()}"


def read(raw: str) -> Normalized:
    return normalize(raw)
