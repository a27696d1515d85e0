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

from shopvoice.resolution import CatalogProduct, Match, ProductIndex

_KEY_DROP = re.compile(r"[\s\-_.,，。'\"!?！？()（）/]+")
_LEADING_WORDS = re.compile(
    r"^(?:(?:the|a|an|our|my|this|that|product|item|sku)\s+|(?:商品|产品|宝贝|这个|那个|这款|那款|这件|那件)\s*)+",
    re.IGNORECASE,
)

# "现在" and "now" after a name are when, not what: 红T现在库存多少, "the tote now".
_TRAILING_WORDS = re.compile(r"(?:\s+(?:right now|now|currently|at the moment)|现在|目前|眼下|这会儿)$", re.IGNORECASE)

VocabularyLike = Mapping[str, str] | Iterable[tuple[str, str]]


def clean_title(text: str) -> str:
    """A spoken title without leading articles or demonstratives ("the red t-shirt") or a
    trailing word for now."""
    stripped = _TRAILING_WORDS.sub("", _LEADING_WORDS.sub("", text.strip()))
    return stripped.strip() or text.strip()


def title_key(text: str) -> str:
    """Matching key for a title: width-folded, case-folded, no spaces or punctuation."""
    folded = unicodedata.normalize("NFKC", clean_title(text)).casefold()
    return _KEY_DROP.sub("", folded)


class Vocabulary:
    """SKU codes and titles of one catalog, indexed for resolution.

    Titles are found inside longer text by looking up its substrings of each
    title length that occurs (a few dozen lengths): plain str -> str dicts, which
    the garbage collector does not traverse, so a 10,000-product catalog adds no
    GC pauses to parsing (a character trie of dicts did: ~10 ms full collections).
    """

    def __init__(self, products: Iterable[tuple[str, str]], details: Iterable[CatalogProduct] | None = None) -> None:
        """``products``: (SKU, title) pairs of the products on sale; ``details``: everything
        resolution may use (English titles, descriptions, archived products), when known."""
        self._details = tuple(details) if details is not None else None
        self._index: ProductIndex | None = None
        self._titles: dict[str, str] | None = None
        self._by_key: dict[str, str] = {}
        self.products: list[tuple[str, str]] = []
        for sku, title in products:
            sku = sku.strip().upper()
            self.products.append((sku, title))
            key = title_key(title)
            if key:
                self._by_key.setdefault(key, sku)
        self._lengths = tuple(sorted({len(k) for k in self._by_key}, reverse=True))
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

    @property
    def details(self) -> tuple[CatalogProduct, ...]:
        """Everything known of each product (English titles, description words), or its title alone."""
        return self._details or tuple(CatalogProduct(sku, title) for sku, title in self.products)

    @property
    def index(self) -> ProductIndex:
        """Partial names, plurals, English titles, colour + kind (shopvoice.resolution), built on first use."""
        if self._index is None:
            self._index = ProductIndex(self.details)
        return self._index

    def titles(self, sku: str) -> str:
        """Every title of one product, in either language, as one string ("" if unknown)."""
        if self._titles is None:
            self._titles = {}
            for product in self.details:
                self._titles[product.sku] = f"{self._titles.get(product.sku, '')} {product.title} {product.title_en}"
        return self._titles.get(sku, "")

    def match(self, spoken: str) -> Match:
        """One product, several (ask which), or none, for a name as said."""
        sku = self.resolve(spoken)
        return Match("one", (sku,)) if sku is not None else self.index.resolve(spoken)

    def resolve(self, spoken: str) -> str | None:
        """The SKU named by ``spoken``: an exact title, else the longest title inside it."""
        key = title_key(spoken)
        if not key:
            return None
        exact = self._by_key.get(key)
        if exact is not None:
            return exact
        for length in self._lengths:
            if length >= len(key):
                continue
            for start in range(len(key) - length + 1):
                sku = self._by_key.get(key[start : start + length])
                if sku is not None:
                    return sku
        return None
