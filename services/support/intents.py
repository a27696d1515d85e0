"""Which question a customer is asking: a cue matcher over normalised text.

Customer questions are open-ended ("is the red one still available in L?"), not
the merchant's command language, so the NLU's full template grammar would need
a template for every phrasing. What decides the answer here is the topic, and
the topic shows in a few cue words; the cues live in data files per language
(sentences/zh.yaml, sentences/en.yaml), reviewed like code, in priority order.
The text is normalised with the NLU's own pipeline first (digits, widths,
fillers), so 订单一二三四 and "order one two three four" read as 订单1234 / order 1234.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from shopvoice.text import Normalized, normalize

SENTENCES = Path(__file__).parent / "sentences"

#: Intents that go to a person whatever else the question says.
HANDOFF_INTENTS = frozenset({"human", "complaint", "cancel_request"})


@dataclass(frozen=True, slots=True)
class Cue:
    intent: str
    text: str
    pattern: re.Pattern[str]


@lru_cache(maxsize=2)
def cues(language: str) -> tuple[Cue, ...]:
    """The language's cues in priority order, normalised the way questions are."""
    data = yaml.safe_load((SENTENCES / f"{language}.yaml").read_text(encoding="utf-8"))
    found: list[Cue] = []
    for intent, words in data["intents"].items():
        for word in words:
            text = normalize(str(word)).text.casefold() or str(word).casefold()
            # English cues are whole words; Chinese has no spaces, so a substring.
            body = re.escape(text)
            pattern = re.compile(body if language == "zh" else rf"(?<![a-z0-9]){body}(?![a-z0-9])")
            found.append(Cue(intent, text, pattern))
    return tuple(found)


def intents_in(text: Normalized, raw: str = "") -> list[str]:
    """Every intent with a cue in the text, in priority order, without repeats.

    The raw text is searched too: normalisation drops English fillers ("hi",
    "well") that are, for a customer, a greeting.
    """
    folded = f"{text.text.casefold()}\n{raw.casefold()}"
    seen: list[str] = []
    for cue in cues(text.language):
        if cue.intent not in seen and cue.pattern.search(folded):
            seen.append(cue.intent)
    return seen


def read(raw: str) -> tuple[Normalized, list[str]]:
    """The normalised question and its intents (first = the one to answer)."""
    text = normalize(raw)
    return text, intents_in(text, raw)
