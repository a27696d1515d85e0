"""The merchant's catalog vocabulary: product titles as said, mapped to SKUs.

The grammar captures a product either as a SKU code or as free text; with a
vocabulary, free text that names a product (exactly, or containing a known title:
"那件红色T恤") resolves to its SKU. Build one Vocabulary per catalog and reuse it:
construction indexes every title once (a dict for exact keys, a character trie
for titles inside longer text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

_KEY_DROP = re.compile(r"[\s\-_.,，。'\"!?！？()（）/]+")
_LEADING_WORDS = re.compile(
    r"^(?:(?:the|a|an|our|my|this|that|product|item|sku)\s+|(?:商品|产品|宝贝|这个|那个|这款|那款|这件|那件)\s*)+",
    re.IGNORECASE,
)
_END = ""  # trie key marking the end of a title

VocabularyLike = Mapping[str, str] | Iterable[tuple[str, str]]
Trie = dict[str, "Trie | str"]


def clean_title(text: str) -> str:
    """A spoken title without leading articles or demonstratives ("the red t-shirt")."""
    stripped = _LEADING_WORDS.sub("", text.strip())
    return stripped.strip() or text.strip()


def title_key(text: str) -> str:
    """Matching key for a title: width-folded, case-folded, no spaces or punctuation."""
    folded = unicodedata.normalize("NFKC", clean_title(text)).casefold()
    return _KEY_DROP.sub("", folded)


class Vocabulary:
    """SKU codes and titles of one catalog, indexed for resolution."""

    def __init__(self, products: Iterable[tuple[str, str]]) -> None:
        self._by_key: dict[str, str] = {}
        self._trie: Trie = {}
        self.products: list[tuple[str, str]] = []
        for sku, title in products:
            sku = sku.strip().upper()
            self.products.append((sku, title))
            key = title_key(title)
            if not key:
                continue
            self._by_key.setdefault(key, sku)
            node = self._trie
            for ch in key:
                child = node.setdefault(ch, {})
                assert isinstance(child, dict)
                node = child
            node.setdefault(_END, sku)
        self.skus = frozenset(sku for sku, _ in self.products)

    @classmethod
    def of(cls, value: Vocabulary | VocabularyLike) -> Vocabulary:
        """Accept a Vocabulary, a title -> sku mapping, or (sku, title) pairs."""
        if isinstance(value, Vocabulary):
            return value
        if isinstance(value, Mapping):
            return cls((str(sku), str(title)) for title, sku in value.items())
        return cls((str(sku), str(title)) for sku, title in value)

    def __len__(self) -> int:
        return len(self.products)

    def resolve(self, spoken: str) -> str | None:
        """The SKU named by ``spoken``: an exact title, else the longest title inside it."""
        key = title_key(spoken)
        if not key:
            return None
        exact = self._by_key.get(key)
        if exact is not None:
            return exact
        return self._longest_inside(key)

    def _longest_inside(self, key: str) -> str | None:
        best: tuple[int, str] | None = None
        for start in range(len(key)):
            node: Trie | str = self._trie
            for end in range(start, len(key)):
                assert isinstance(node, dict)
                nxt = node.get(key[end])
                if nxt is None:
                    break
                node = nxt
                assert isinstance(node, dict)
                sku = node.get(_END)
                if isinstance(sku, str) and (best is None or end + 1 - start > best[0]):
                    best = (end + 1 - start, sku)
        return None if best is None else best[1]
