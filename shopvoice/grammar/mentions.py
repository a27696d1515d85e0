"""What the other clauses of an utterance name, for the one clause that gives the command.

People say the product or the order once and then refer to it: "a customer says the grey hoodie
is cheaper elsewhere, so bring it down to 209", "the buyer of 2854 returned a T-shirt, refund 89
on that order", 那个订单7790客户付了两次钱，退一半给他. The command's clause alone names nothing
("it", "that order", nothing at all in Chinese), so the grammar cannot act on it; with the thing
named elsewhere put in its place it can. A shipment's carrier and tracking number are often said
in a clause of their own (货已经交给EMS了，订单2468发货，单号1151234567890): left out, the order
would ship without them.

Pure functions over normalised clause text; the parser decides what to do with them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from shopvoice.grammar.index import grammar_for
from shopvoice.grammar.vocabulary import Vocabulary
from shopvoice.resolution import Match

# The words that may stand for a product or an order said in another clause.
_EN_PRONOUN = re.compile(r"\b(?:it|them|they|this one|that one|those|these|that|this)\b", re.IGNORECASE)
_EN_POSSESSIVE = re.compile(r"\b(?:its|their)\b", re.IGNORECASE)
_EN_ORDER_PRONOUN = re.compile(r"\b(?:that|this|the|their|his|her|the same) order\b|\b(?:it|them)\b", re.IGNORECASE)
# The person a refund goes to is no object of the command (退一半给他, "refund them 59 dollars").
_ZH_RECIPIENT = re.compile(r"给(?:他|她|客户|买家|顾客|人家)(?=$|[，, ])")
_EN_RECIPIENT = re.compile(r"(?<=\brefund) (?:them|him|her|the customer|the buyer)\b", re.IGNORECASE)
_ZH_PRONOUN = re.compile(r"它们?|这个|那个|这款|那款|这件|那件")

# An order said by its number: "order 7102", "#7102", 订单4102, 2290那单, 1123号订单, "the buyer of
# 2854", "the customer for 9930", "customer asking about 9931".
_ORDER = re.compile(
    r"(?:\border|订单|\b(?:buyer|customer|client)s? (?:of|for|on)(?: order)?|#)\s*(\d{3,12})(?!\d)"
    r"|(?<![\d.])(\d{3,12})(?:这单|那单|这笔|那笔|号订单|号单|的订单|这个订单|那个订单)"
    # a customer asking "about 9931": a number of an order's length, no amount or count after it
    r"|\babout (\d{4,12})(?![\d.%]| ?(?:dollars?|bucks|yuan|rmb|usd|units?|pieces?|pcs|items?|of)\b)"
)
_CARRIER_TRACKING = re.compile(
    r"(?:运单号|快递单号|物流单号|单号|tracking(?: number| no| num| #| code)?|track(?:ing)? ?#|waybill(?: number| no)?)"
    r"\s*(?:是|为|is|:)?\s*([A-Za-z]{0,4}\d{6,30})",
    re.IGNORECASE,
)

_EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "our",
        "my",
        "your",
        "his",
        "her",
        "their",
        "this",
        "that",
        "these",
        "those",
        "some",
        "any",
        "all",
        "of",
        "to",
        "at",
        "for",
        "on",
        "in",
        "by",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "them",
        "they",
        "we",
        "i",
        "you",
        "so",
        "but",
        "just",
        "now",
        "please",
        "can",
        "could",
        "would",
        "should",
        "will",
    ]
)
_MAX_WORDS = 4
_MAX_CHARS_ZH = 8


@dataclass(frozen=True, slots=True)
class Mention:
    """A product said in a clause: the words as said and the products they fit."""

    phrase: str
    skus: tuple[str, ...]
    # a list's items, one per name as said, with the products that name fits
    items: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.items)


def _named_spans(text: str, language: str, vocab: Vocabulary) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each span of ``text`` that names products by title or code, longest first, with its products."""
    for span in _zh_spans(text) if language == "zh" else _en_spans(text):
        match = vocab.index.resolve_title(span)
        if match.outcome != "none":
            yield span, tuple(match.candidates)


def product_mention(clause: str, language: str, vocab: Vocabulary) -> Mention | None:
    """The product(s) ``clause`` names by title or code: its most specific span, when every
    span that names any agrees with it (two different products: None)."""
    found = [Mention(span, skus) for span, skus in _named_spans(clause, language, vocab)]
    if not found:
        return None
    # The most specific naming ("grey hoodie", not "hoodie"), in the most words of its titles
    best = min(found, key=lambda m: (len(m.skus), -len(m.phrase)))
    if any(not set(best.skus) <= set(m.skus) for m in found):
        return None  # two different products named: no telling which one "it" is
    return best


# Names said one after another: 短裤跟帽子, 红T、白T和卫衣, "the thermos cup and the yoga mat",
# "caps & socks" (the joining words kept by split).
_LIST_JOIN = {"zh": re.compile(r"(和|跟|与|还有|以及|、|\s*\+\s*)"), "en": re.compile(r"( and | & | plus |\s*\+\s*)")}


def list_mention(clause: str, language: str, vocab: Vocabulary) -> Mention | None:
    """Two or more products named one after another (短裤跟帽子都快卖没了, "the thermos cup and the
    yoga mat, take 5 bucks off each"), as one phrase and its products in order; None unless every
    name in the list names a product of the catalog. Chinese is cut in characters, English in words."""
    zh = language == "zh"
    pieces = _LIST_JOIN["zh" if zh else "en"].split(clause if zh else f" {clause} ")
    if zh and len(pieces) < 3 and " " in clause.strip():
        return _spaced_list(clause, vocab)
    parts = [list(p) if zh else p.split() for p in pieces[::2]]
    joins, sep = pieces[1::2], "" if zh else " "
    if len(parts) < 2 or not parts[0] or not parts[-1]:
        return None
    head, tail = parts[0], parts[-1]
    # the list starts at the longest end of the first part that is a name and stops at the longest start of the last
    first = next((sep.join(head[i:]) for i in range(len(head)) if _named(sep.join(head[i:]), vocab)), None)
    last = next((sep.join(tail[:j]) for j in range(len(tail), 0, -1) if _named(sep.join(tail[:j]), vocab)), None)
    if first is None or last is None:
        return None
    names = [first, *(sep.join(p) for p in parts[1:-1]), last]
    matches = [vocab.index.resolve_title(name) for name in names]
    if any(len(name) < 2 or match.outcome == "none" for name, match in zip(names, matches, strict=True)):
        return None
    phrase = first + "".join(join + name for join, name in zip(joins, names[1:], strict=True))
    return _listed(phrase, names, matches)


def _spaced_list(clause: str, vocab: Vocabulary) -> Mention | None:
    """Chinese names typed apart with spaces and no joining word (帆布包 袜子 白色T恤 库存都调成100):
    from the longest end of the first word that is a name, each next word that is one, and the
    longest start of the word that ends the list. Typed text only: the normaliser joins them."""
    words = clause.split()
    first = next((words[0][i:] for i in range(len(words[0])) if _named(words[0][i:], vocab)), None)
    if first is None:
        return None
    names = [first]
    for word in words[1:]:
        if _named(word, vocab):
            names.append(word)
            continue
        if head := next((word[:j] for j in range(len(word), 1, -1) if _named(word[:j], vocab)), None):
            names.append(head)
        break
    if len(names) < 2:
        return None
    return _listed(" ".join(names), names, [vocab.index.resolve_title(name) for name in names])


def _listed(phrase: str, names: list[str], matches: list[Match]) -> Mention:
    items = tuple((name, tuple(match.candidates)) for name, match in zip(names, matches, strict=True))
    return Mention(phrase, tuple(sku for _, skus in items for sku in skus), items)


def _named(span: str, vocab: Vocabulary) -> bool:
    """Whether the whole span names products by title (one, or several to ask about)."""
    return len(span) >= 2 and vocab.index.resolve_title(span).outcome != "none"


def _en_spans(clause: str) -> list[str]:
    words = clause.split()
    spans: list[str] = []
    for size in range(min(_MAX_WORDS, len(words)), 0, -1):
        for i in range(len(words) - size + 1):
            part = words[i : i + size]
            if part[0].lower() in _EN_STOP or part[-1].lower() in _EN_STOP:
                continue
            if any(w.isdigit() for w in part):
                continue
            spans.append(" ".join(part))
    return spans


def _zh_spans(clause: str) -> list[str]:
    spans: list[str] = []
    for size in range(min(_MAX_CHARS_ZH, len(clause)), 1, -1):
        for i in range(len(clause) - size + 1):
            part = clause[i : i + size].strip()
            if len(part) == size and not any(c.isdigit() for c in part):
                spans.append(part)
    return spans


def said_order(skus: list[str], text: str, language: str, vocab: Vocabulary) -> list[str] | None:
    """``skus`` in the order ``text`` names them (by code or by a name that fits one product), or
    None when one of them is not found named on its own. A list's order is the merchant's: the
    LLM may answer 袜子跟杯子 as [E15, M3], and the read-back must say them as said."""
    folded = text.casefold()
    first: dict[str, int] = {}
    for sku in skus:
        if found := re.search(rf"(?<![a-z0-9]){re.escape(sku.casefold())}(?![0-9])", folded):
            first[sku] = found.start()
    for span, named in _named_spans(text, language, vocab):
        if len(named) != 1 or named[0] not in skus:
            continue
        (sku,) = named
        at = text.find(span)
        if at >= 0 and at < first.get(sku, len(text)):
            first[sku] = at
    if set(first) != set(skus):
        return None
    return sorted(skus, key=lambda sku: first[sku])


def order_mention(clause: str) -> str | None:
    """The one order number ``clause`` names, if it names exactly one."""
    found = {a or b or c for a, b, c in _ORDER.findall(clause)}
    return found.pop() if len(found) == 1 else None


def carrier_mention(clause: str) -> str | None:
    """The one carrier ``clause`` names (圆通, EMS, "via UPS"), by the grammar's carrier lists."""
    folded = clause.casefold()
    found = {code for name, code in _carrier_names() if name.search(folded)}
    return found.pop() if len(found) == 1 else None


@cache
def _carrier_names() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each carrier name of both grammars as a whole-word pattern, with its code (built once)."""
    return tuple(
        (re.compile(rf"(?<![a-z]){re.escape(name.casefold())}(?![a-z])"), code)
        for language in ("zh", "en")
        for name, code in grammar_for(language).kinds.lists.get("carrier", {}).items()
    )


def period_mention(clause: str) -> str | None:
    """The one period ``clause`` names (最近一个月, "the past week"), by the grammar's period lists,
    as the list's value (``last_30_days``); None when it names none or several."""
    named = periods_in_order(clause)
    return named[0] if len(named) == 1 else None


def periods_in_order(clause: str) -> list[str]:
    """The periods ``clause`` names, as the lists' values, in the order said ("this month vs last
    month": this_month, last_month); a period said twice counts once."""
    found: list[tuple[int, str]] = []
    for language in ("zh", "en"):
        kinds = grammar_for(language).kinds
        for said in re.finditer(kinds.pattern("period"), clause, re.IGNORECASE):
            read = kinds.read("period", said.group(0))
            if isinstance(read, str):
                found.append((said.start(), read))
    ordered: list[str] = []
    for _, read in sorted(found):
        if read not in ordered:
            ordered.append(read)
    return ordered


def fact_word(word: str, language: str) -> str | None:
    """The product fact a word names by the grammar's fact list (容量: capacity), or None."""
    kinds = grammar_for(language).kinds
    if not re.fullmatch(kinds.pattern("fact"), word.strip(), re.IGNORECASE):
        return None
    read = kinds.read("fact", word.strip())
    return read if isinstance(read, str) else None


def tracking_mention(clause: str) -> str | None:
    """A tracking number said with its label (单号YT2201938475, "tracking number 1Z999") or right after
    its carrier ("dhl 4839201745", 顺丰 SF1234567890: a waybill's length, 8 digits or more)."""
    found = _CARRIER_TRACKING.search(clause)
    if found:
        return found.group(1).upper()
    for language in ("zh", "en"):
        carrier = grammar_for(language).kinds.pattern("carrier")
        after = re.search(rf"(?:{carrier})\s*[:：]?\s*([A-Za-z]{{0,4}}\d{{8,30}})(?![\d.])", clause, re.IGNORECASE)
        if after:
            return after.group(1).upper()
    return None


def with_product(clause: str, language: str, phrase: str) -> str | None:
    """``clause`` with its pronoun for a product replaced by ``phrase``; None when it has none."""
    if language == "zh":
        replaced, count = _ZH_PRONOUN.subn(phrase, clause, count=1)
        return replaced if count else phrase + clause  # Chinese leaves the object unsaid
    replaced, count = _EN_POSSESSIVE.subn(f"the {phrase} 's", clause, count=1)
    if not count:
        replaced, count = _EN_PRONOUN.subn(f"the {phrase}", clause, count=1)
    return replaced if count else None


def with_order(clause: str, language: str, order_id: str) -> str | None:
    """``clause`` with its reference to an order replaced by the order's number; None when it has none."""
    if language == "zh":
        clause = _ZH_RECIPIENT.sub("", clause)
        replaced, count = re.subn(r"这单|那单|这个订单|那个订单|该订单|这笔|那笔", f"订单{order_id}", clause, count=1)
        return replaced if count else f"订单{order_id}{clause}"
    clause = _EN_RECIPIENT.sub("", clause)
    replaced, count = _EN_ORDER_PRONOUN.subn(f"order {order_id}", clause, count=1)
    return replaced if count else f"{clause} on order {order_id}"  # "refund them 59 dollars"
