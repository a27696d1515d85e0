"""Entity resolution past the grammar: names as merchants say them, misheard SKUs, pronouns.

The merchant's live vocabulary resolves a name (shopvoice.resolution: SKUs in any case, titles
in both languages, partial names, plurals, colour + kind, description words): one confident
match acts, several leave `sku` out and list the candidates (the dialogue asks "which one?"),
none is reported as `unknown` (the dialogue says it does not know that product). Past that, a
SKU code the ASR got slightly wrong (edit distance) or a title misheard as other characters
with the same sound (pinyin similarity) is looked for; pronouns ("它", "it") are cleared for
the dialogue's context to fill. A bulk command's explicit SKUs are resolved one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.grammar import Vocabulary
from shopvoice.grammar.slots import SKU_CODE_RE
from shopvoice.grammar.vocabulary import title_key

PRONOUNS = frozenset(
    {"它", "它的", "这个", "那个", "这件", "那件", "该商品", "it", "this", "that", "this one", "that one"}
)
MATCH_THRESHOLD = 80.0  # out of 100
CLEAR_LEAD = 10.0  # the best match wins outright when this far ahead of the next
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class Resolution:
    command: cmd.Command
    candidates: list[str] = field(default_factory=list)  # several products matched: ask which
    unknown: str = ""  # a name said that no product answers to: say so


def pinyin_key(text: str) -> str:
    return "".join(lazy_pinyin(text))


@lru_cache(maxsize=64)
def _index(vocabulary: Vocabulary) -> tuple[list[str], list[str], list[str]]:
    """Per vocabulary, computed once: SKUs, title keys, and their pinyin."""
    skus = [sku for sku, _ in vocabulary.products]
    keys = [title_key(title) for _, title in vocabulary.products]
    return skus, keys, [pinyin_key(k) for k in keys]


def _product_slot(command: cmd.Command) -> object | None:
    intent = command.WhichOneof("intent")
    slots = getattr(command, intent) if intent else None
    return slots if slots is not None and hasattr(slots, "sku") and intent != "create_product" else None


def resolve(command: cmd.Command, vocabulary: Vocabulary | None) -> Resolution:
    intent = command.WhichOneof("intent") or ""
    if intent.startswith("bulk_"):
        return _resolve_list(command, getattr(command, intent), vocabulary)
    slots = _product_slot(command)
    if slots is None:
        return Resolution(command)
    spoken: str = slots.sku  # type: ignore[attr-defined]
    if not spoken:
        return Resolution(command)
    if spoken.strip().casefold() in PRONOUNS:
        slots.sku = ""  # type: ignore[attr-defined]  # the dialogue fills it from context
        return Resolution(command)
    if vocabulary is None or spoken in vocabulary.skus:
        return Resolution(command)
    match = vocabulary.match(spoken)
    if match.outcome == "one":
        slots.sku = match.candidates[0]  # type: ignore[attr-defined]
        return Resolution(command)
    if match.outcome == "several":
        slots.ClearField("sku")  # type: ignore[attr-defined]
        return Resolution(command, list(match.candidates))
    candidates = _candidates(spoken, vocabulary)
    if len(candidates) == 1:
        slots.sku = candidates[0]  # type: ignore[attr-defined]
        return Resolution(command)
    if candidates:
        slots.ClearField("sku")  # type: ignore[attr-defined]
        return Resolution(command, candidates)
    if SKU_CODE_RE.fullmatch(spoken):
        # A code: the catalog is the authority (a product created a moment ago may not be in
        # this vocabulary yet); an unknown one is refused there with NOT_FOUND, nothing written.
        return Resolution(command)
    return Resolution(command, unknown=spoken)


def _resolve_list(command: cmd.Command, slots: object, vocabulary: Vocabulary | None) -> Resolution:
    """A bulk command's SKUs, each one product; a name that is not is reported, nothing guessed."""
    skus: list[str] = list(slots.skus)  # type: ignore[attr-defined]
    if vocabulary is None or not skus:
        return Resolution(command)
    resolved = []
    for said in skus:
        sku = vocabulary.match(said).sku or _inside(said, vocabulary)
        if sku is None:
            return Resolution(command, unknown=said)
        resolved.append(sku)
    del slots.skus[:]  # type: ignore[attr-defined]
    slots.skus.extend(resolved)  # type: ignore[attr-defined]
    return Resolution(command)


def _inside(said: str, vocabulary: Vocabulary) -> str | None:
    """A Chinese list item with words of the sentence stuck to it once punctuation is gone
    (老板交代了双肩包, 袜子偏贵这2个): the one product named by its longest end or start."""
    if not any("\u4e00" <= ch <= "\u9fff" for ch in said):
        return None
    for size in range(len(said) - 1, 1, -1):
        found = {vocabulary.match(part).sku for part in (said[-size:], said[:size])} - {None}
        if len(found) == 1:
            return found.pop()
        if found:
            return None  # two products fit: say the name was not found rather than guess
    return None


def _candidates(spoken: str, vocabulary: Vocabulary) -> list[str]:
    skus, keys, pinyins = _index(vocabulary)
    if spoken.isascii() and any(ch.isdigit() for ch in spoken) and len(spoken) <= 12:
        near = [sku for sku in skus if Levenshtein.distance(sku, spoken.upper()) <= 1]
        if near:
            return near[:MAX_CANDIDATES]
    key = title_key(spoken.removesuffix("的"))  # "红色的": the red one
    if not key:
        return []
    scored: dict[int, float] = {}
    for choices, query in ((keys, key), (pinyins, pinyin_key(key))):
        for _choice, score, index in process.extract(
            query, choices, scorer=fuzz.WRatio, limit=MAX_CANDIDATES * 2, score_cutoff=MATCH_THRESHOLD
        ):
            scored[index] = max(scored.get(index, 0.0), float(score))
    ranked = sorted(scored.items(), key=lambda item: -item[1])
    if len(ranked) >= 2 and ranked[0][1] - ranked[1][1] >= CLEAR_LEAD:
        ranked = ranked[:1]
    return [skus[index] for index, _ in ranked[:MAX_CANDIDATES]]
