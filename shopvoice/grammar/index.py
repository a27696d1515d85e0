"""The compiled grammar of one language and its matching index.

Templates are compiled once. Each has clauses of literal fragments it needs (see
template.required_fragments); the most selective clause is its index key. To
match, the utterance is scanned once for the fragments of the language (a few
hundred ``in`` tests in C), the index yields the few templates whose key is
present, their other clauses are checked against the same set, and only those
templates' regexes run. A full match beats a partial one; among full matches the
one that explains more of the text with literal words wins (订单1234 is an order,
not a product title), then a SKU code over a free title, then file order.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from shopvoice.grammar.sentences import Template, compile_templates, sentences_dir
from shopvoice.grammar.slots import PRICE_WORDS, SKU_CODE_RE, STOCK_WORDS, SlotKinds, SlotValue
from shopvoice.grammar.template import clause_cost
from shopvoice.grammar.vocabulary import clean_title

_ENDS_IN_A_NUMBER = re.compile(r"\d\s*$")
_CODE_INSIDE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{1,4}-?\d{1,10}(?![A-Za-z0-9])")

#: A partial match must explain at least this share of the text.
MIN_PARTIAL_COVERAGE = 0.5


@dataclass(frozen=True, slots=True)
class TemplateMatch:
    """A template that matched, with its slot values (field -> value)."""

    template: Template
    values: dict[str, SlotValue]
    full: bool
    coverage: float
    literal_chars: int
    titles: int
    numbered_titles: int = 0  # titles that end in a number: 双肩包159 in 双肩包159改149


class Grammar:
    """All templates of one language, indexed by their required fragments."""

    def __init__(self, language: str, templates: list[Template], kinds: SlotKinds) -> None:
        self.language = language
        self.templates = templates
        self.kinds = kinds
        index: dict[str, list[int]] = defaultdict(list)
        self._unanchored: list[int] = []
        for i, template in enumerate(templates):
            if template.clauses:
                for fragment in min(template.clauses, key=clause_cost):
                    index[fragment].append(i)
            else:
                self._unanchored.append(i)
        self._index = dict(index)
        self._fragments = tuple(sorted({f for t in templates for c in t.clauses for f in c}))
        prefix = "(?<![^ ])" if language == "en" else ""
        self._partial = [re.compile(prefix + t.regex.pattern, re.IGNORECASE) for t in templates]

    @classmethod
    def load(cls, language: str) -> Grammar:
        templates, kinds = compile_templates(language)
        return cls(language, templates, kinds)

    def candidates(self, text: str) -> list[int]:
        """Templates whose every clause has a fragment present in ``text``."""
        folded = text.casefold()
        present = {f for f in self._fragments if f in folded}
        chosen: set[int] = set(self._unanchored)
        for fragment in present:
            chosen.update(self._index.get(fragment, ()))
        return sorted(i for i in chosen if all(not clause.isdisjoint(present) for clause in self.templates[i].clauses))

    def match(self, text: str) -> TemplateMatch | None:
        """The best full match, else the best partial match, else None."""
        subject = text + " "
        candidates = self.candidates(text)
        best: TemplateMatch | None = None
        for i in candidates:
            found = self.templates[i].regex.fullmatch(subject)
            if found is not None:
                result = self._read(self.templates[i], found, len(subject), full=True)
                if result is not None and (best is None or _rank(result) > _rank(best)):
                    best = result
        if best is not None:
            return best
        for i in candidates:
            if not self.templates[i].slots:
                continue  # "好" inside "你好" is no answer: slot-less intents match whole
            if any(slot.kind == "terse" for slot in self.templates[i].slots):
                continue  # "A100 50" inside "A100 50件" is no price: a bare shorthand matches whole
            found = self._partial[i].search(subject)
            if found is None:
                continue
            result = self._read(self.templates[i], found, len(subject), full=False)
            if result is None or result.titles or result.coverage < MIN_PARTIAL_COVERAGE:
                continue
            left_out = subject[: found.start()] + " " + subject[found.end() :]
            if _has_the_other_field(self.templates[i].intent, left_out):
                continue  # "all drafts to 0 stock" is no price of 0 with "stock" left over
            if best is None or _rank(result) > _rank(best):
                best = result
        return best

    def _read(self, template: Template, found: re.Match[str], length: int, full: bool) -> TemplateMatch | None:
        values: dict[str, SlotValue] = dict(template.fixed)
        slot_chars = 0
        titles = 0
        numbered = 0
        for n, slot in enumerate(template.slots):
            raw = found.group(f"s{n}")
            if raw is None:
                continue
            if slot.kind == "title" and not any(c.isalpha() for c in raw):
                return None  # a product title has letters; "0" is a stray digit
            value = self.kinds.read(slot.kind, raw)
            if value is None:
                return None
            # (a query refuses both fields itself: slots._query)
            if slot.kind in ("sku", "terse", "products") and _has_the_other_field(template.intent, raw):
                return None
            if slot.kind in ("sku", "terse") and not SKU_CODE_RE.fullmatch(clean_title(raw)):
                if _CODE_INSIDE.search(raw) or not any(c.isalpha() for c in raw):
                    # "price of B205", "A100给我": a code was said, so this wildcard
                    # title is template words around it, not a product title.
                    return None
                titles += 1
                numbered += bool(_ENDS_IN_A_NUMBER.search(raw))
            elif slot.kind in ("query", "value", "statement", "plural", "products"):
                titles += 1  # free text too: a partial match may not guess its extent
            slot_chars += len(raw)
            values[slot.field] = value
        span = found.end() - found.start()
        return TemplateMatch(
            template=template,
            values=values,
            full=full,
            coverage=span / length,
            literal_chars=span - slot_chars,
            numbered_titles=numbered,
            titles=titles,
        )


def _has_the_other_field(intent: str, raw: str) -> bool:
    """A stock word inside a price change's product ("red tshirt stock is 88 now"), or a price
    word inside a stock change's: the sentence changes something else than the template says."""
    if intent.endswith("_price"):
        return STOCK_WORDS.search(raw) is not None
    if intent.endswith("_stock") and intent != "query_stock":
        return PRICE_WORDS.search(raw) is not None
    return False


def _rank(match: TemplateMatch) -> tuple[float, int, int, int, int]:
    # a title that ends in a number has likely taken in a value said after it
    return (match.coverage, match.literal_chars, -match.numbered_titles, -match.titles, -match.template.order)


@cache
def grammar_for(language: str) -> Grammar:
    """The grammar of ``language``, compiled once per process."""
    return Grammar.load(language)


def compile_all() -> None:
    """Compile every language's grammar now (about a second of CPU), so that the first
    utterances a new process takes do not pay for it."""
    for language in sorted(p.name for p in sentences_dir().iterdir() if p.is_dir()):
        grammar_for(language)
