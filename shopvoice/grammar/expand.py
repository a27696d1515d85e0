"""Sentence expansion: the templates as plain spoken sentences, for an ASR grammar.

The sphinx engine decodes against a grammar built from these sentences and the
merchant's catalog, so they are written as people say them (九十九元, "ninety
nine dollars"), not in normalised digits. The output is bounded: each template
contributes at most ``per_template`` literal variants, each filled ``fills``
times; catalog products rotate across templates so every SKU and title appears
when ``limit`` allows; ``limit`` caps the total. A recogniser with its own slot
rules (numbers, SKUs) passes ``placeholders``: those slot kinds are then written
as the given marker (``{"money": "{price}"}``) instead of sample values, so its
grammar accepts any value there, not only the samples.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import cn2an

from shopvoice.grammar.sentences import load_files
from shopvoice.grammar.slots import SKU_CODE_RE
from shopvoice.grammar.template import (
    Node,
    Sequence,
    Slot,
    Text,
    expand_rules,
    parse_template,
)
from shopvoice.grammar.vocabulary import Vocabulary, VocabularyLike
from shopvoice.text.en_numbers import ONES, TEENS, TENS

_EN_ONES = {v: k for k, v in ONES.items()}
_EN_TEENS = {v: k for k, v in TEENS.items()}
_EN_TENS = {v: k for k, v in TENS.items() if k != "fourty"}
_SAMPLE_PRICES = (9, 19, 29, 59, 99, 120, 199)
_SAMPLE_QUANTITIES = (1, 5, 10, 20, 50, 100)
_SAMPLE_PERCENTS = (5, 10, 15, 20, 30, 50)
_SAMPLE_ORDERS = ("1234", "88", "9012")


def spoken_en(number: int) -> str:
    """English words for 0 <= number < 1_000_000 ("ninety nine")."""
    if number < 10:
        return _EN_ONES[number]
    if number < 20:
        return _EN_TEENS[number]
    if number < 100:
        tens, ones = divmod(number, 10)
        return _EN_TENS[tens * 10] + (f" {_EN_ONES[ones]}" if ones else "")
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        return f"{_EN_ONES[hundreds]} hundred" + (f" {spoken_en(rest)}" if rest else "")
    thousands, rest = divmod(number, 1000)
    return f"{spoken_en(thousands)} thousand" + (f" {spoken_en(rest)}" if rest else "")


def spoken_zh(number: int) -> str:
    """Chinese numerals for a whole number (cn2an: 120 -> 一百二十)."""
    return str(cn2an.an2cn(str(number)))


def _digits_spoken(digits: str, language: str) -> str:
    if language == "zh":
        return "".join("零一二三四五六七八九"[int(d)] for d in digits)
    return " ".join(_EN_ONES[int(d)] for d in digits)


@dataclass(slots=True)
class _Fillers:
    language: str
    lists: dict[str, list[str]]
    products: list[str]
    cursor: dict[str, int] = field(default_factory=dict)

    def values(self, kind: str) -> list[str]:
        zh = self.language == "zh"
        if kind in ("sku", "code", "terse"):
            return self.products
        if kind == "title":
            return self.products if zh else ["red t-shirt", "blue mug"]
        if kind == "money":
            return [spoken_zh(p) + "元" if zh else spoken_en(p) + " dollars" for p in _SAMPLE_PRICES]
        if kind == "quantity":
            return [spoken_zh(q) + "件" if zh else spoken_en(q) for q in _SAMPLE_QUANTITIES]
        if kind == "percent":
            return ["百分之" + spoken_zh(p) if zh else spoken_en(p) + " percent" for p in _SAMPLE_PERCENTS]
        if kind == "discount":
            return ["八折", "九折", "八五折", "七折"]
        if kind == "order_id":
            return [_digits_spoken(o, self.language) for o in _SAMPLE_ORDERS]
        if kind in ("query", "plural"):
            return ["T恤", "卫衣"] if zh else ["t-shirts", "hoodies"]
        if kind in ("value", "statement"):
            return ["纯棉", "两年"] if zh else ["cotton", "two years"]
        if kind == "products":
            first, second = [*self.values("title"), "保温杯", "水壶"][:2]
            return [f"{first}和{second}" if zh else f"{first} and {second}"]
        if kind == "skus":
            codes = [p for p in self.products if SKU_CODE_RE.fullmatch(p)]
            first, second = [*codes, "A100", "A101"][:2]
            return [f"{first}和{second}" if zh else f"{first} and {second}"]
        if kind == "carrier_tracking":
            return ["DHL " + _digits_spoken("1234567890", self.language)]
        if kind == "tracking":
            return ["SF" + _digits_spoken("123456", self.language)]
        return self.lists.get(kind, [])

    def next(self, kind: str) -> str:
        values = self.values(kind)
        if not values:
            return ""
        i = self.cursor.get(kind, 0)
        self.cursor[kind] = i + 1
        return values[i % len(values)]


def _variants(node: Node) -> Iterator[tuple[Text | Slot, ...]]:
    """Every literal path through the tree (lazily; callers bound it)."""
    if isinstance(node, (Text, Slot)):
        yield (node,)
    elif isinstance(node, Sequence):
        for parts in itertools.product(*(list(_variants_capped(i)) for i in node.items)):
            yield tuple(x for part in parts for x in part)
    else:
        if node.optional:
            yield ()
        for option in node.options:
            yield from _variants(option)


def _variants_capped(node: Node, cap: int = 12) -> Iterator[tuple[Text | Slot, ...]]:
    return itertools.islice(_variants(node), cap)


def expand_sentences(
    vocabulary: Vocabulary | VocabularyLike | None,
    language: str,
    *,
    per_template: int = 40,
    fills: int = 2,
    limit: int = 100_000,
    placeholders: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Spoken sentences for ``language`` from the templates and the catalog (bounded)."""
    marked = placeholders or {}
    files = load_files(language)
    vocab = Vocabulary.of(vocabulary) if vocabulary is not None else None
    products: list[str] = []
    if vocab is not None:
        for sku, title in vocab.products:
            products.extend([sku, title])
    fillers = _Fillers(language, files.spoken_lists, products or ["A100"])
    joiner = "" if language == "zh" else " "
    emitted = 0
    seen: set[str] = set()
    for _intent, group in files.groups:
        for source in group.get("sentences") or []:
            tree = parse_template(expand_rules(str(source), files.rules))
            for variant in itertools.islice(_variants(tree), per_template):
                filled = any(isinstance(x, Slot) and x.kind not in marked for x in variant)
                for _ in range(fills if filled else 1):
                    words = [
                        x.text.strip() if isinstance(x, Text) else marked.get(x.kind) or fillers.next(x.kind)
                        for x in variant
                    ]
                    sentence = joiner.join(w for w in words if w)
                    sentence = " ".join(sentence.split())
                    if not sentence or sentence in seen:
                        continue
                    seen.add(sentence)
                    yield sentence
                    emitted += 1
                    if emitted >= limit:
                        return
