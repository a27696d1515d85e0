"""Product names as merchants say them, resolved against one merchant's catalog.

Given the catalog's products (SKU, Chinese title, English title, description and fact
words, status) and a phrase ("the backpacks", "红T", "a one hundred", "the grey one",
"P525150DD"), the answer is one confident match, several candidates (sorted SKUs: the
assistant asks "which one?"), or none (the assistant says it does not know that product).

How a phrase is read:

1. **SKU.** The phrase with spaces, hyphens and case folded away equals a SKU
   ("a100", "d 42", "p525150dd") or contains exactly one SKU as a word.
2. **Exact title**, in either language ("红色T恤", "the red t-shirt"): that product.
3. **Units.** The phrase and every product are broken into units: English words
   (lower case, singular, a few synonyms: tee = t-shirt, gray = grey, bag in backpack),
   Chinese characters (stop characters such as 的/那个 and the noun suffix 子 out), ASCII
   letters inside Chinese ("T" in 红T) and numbers ("500" in 500毫升的杯子). Colours are
   units of their own, matched against the product's colour only ("蓝色的那个" is not the
   蓝牙 earbuds), and only against the titles (漂白 in a care fact is no colour). The products
   whose titles cover every unit of the phrase match ("steel bottle" is the water bottle, not
   the cup with a steel wall); else those whose titles, description and facts do ("the merino
   socks"); when none does, the products covering the most non-colour units, if they cover at least half and
   no colour contradicts ("速干短裤" when the facts say nothing of 速干).
4. Among several matches, archived products drop out when a live one remains.

Pure and synchronous: build a ``ProductIndex`` once per catalog revision, then call
``resolve`` per phrase (microseconds for a small shop).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from shopvoice.common.v1.command_pb2 import Command

__all__ = ["CatalogProduct", "CommandResolution", "Match", "ProductIndex", "resolve_command", "sku_key"]

Outcome = Literal["one", "several", "none"]


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    """What resolution needs to know of one product (one SKU)."""

    sku: str
    title: str  # the shop's own title (Chinese in the demo shop)
    title_en: str = ""
    words: tuple[str, ...] = ()  # description and fact values, either language
    status: str = "active"  # active, draft, archived


@dataclass(frozen=True, slots=True)
class Match:
    """The answer for one phrase: ``one`` (``sku`` set), ``several`` (``candidates``), ``none``."""

    outcome: Outcome
    candidates: tuple[str, ...] = ()

    @property
    def sku(self) -> str | None:
        return self.candidates[0] if self.outcome == "one" else None


NONE = Match("none")

_SKU_FOLD = re.compile(r"[\s\-_.]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_TOKENS = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:\.\d+)?|[\u3400-\u9fff]")

EN_COLOURS = {
    "red": "red",
    "white": "white",
    "blue": "blue",
    "black": "black",
    "grey": "grey",
    "gray": "grey",
    "green": "green",
    "yellow": "yellow",
    "pink": "pink",
    "purple": "purple",
    "brown": "brown",
    "orange": "orange",
    "navy": "blue",
    "beige": "beige",
}
ZH_COLOURS = {
    "红": "red",
    "白": "white",
    "蓝": "blue",
    "黑": "black",
    "灰": "grey",
    "绿": "green",
    "黄": "yellow",
    "粉": "pink",
    "紫": "purple",
    "棕": "brown",
    "橙": "orange",
    "米": "beige",
}
# Words that contain a colour character without naming a colour.
_ZH_NOT_COLOUR = ("蓝牙", "白金", "黑科技", "大米", "小米", "厘米", "毫米", "米饭")

_EN_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "our",
        "my",
        "your",
        "one",
        "ones",
        "product",
        "products",
        "item",
        "items",
        "sku",
        "listing",
        "of",
        "for",
        "with",
        "and",
        "in",
        "on",
        "pack",
        "packs",
        "pair",
        "pairs",
        "set",
        "please",
        "all",
        "every",
        "each",
        "any",
        "some",
        "kind",
    ]
)
_ZH_STOP = frozenset("的那这个款件只条些们")
_ZH_STOP_WORDS = ("商品", "产品", "宝贝", "东西", "我们", "款式")
# Everyday names that the titles do not spell (the zh side), phrase -> title words.
_ZH_ALIASES = {
    "小白鞋": "白色鞋",
    "背包": "双肩包",
    "书包": "双肩包",
    "球鞋": "运动鞋",
    "水杯": "杯",
    "T恤衫": "T恤",
    "短袖": "T恤",
    "包包": "包",
    "连帽": " hooded ",  # 帽 in 连帽卫衣 is the hood, not a cap (帽子)
}
# English: the word -> the word the titles use.
_EN_SYNONYMS = {
    "tee": "tshirt",
    "tshirt": "tshirt",
    "gray": "grey",
    "trainer": "sneaker",
    "flask": "bottle",
    "mug": "cup",
    "hat": "cap",
    "sweatshirt": "hoodie",
    "hoody": "hoodie",
    "headphone": "earbud",
    "earphone": "earbud",
    "thermo": "thermos",
    "short": "shorts",
    "jean": "jeans",
}
# English: a product word -> other words that name the same thing ("bag" is a backpack too).
_EN_IMPLIES = {
    "backpack": ("bag",),
    "tote": ("bag",),
    "sneaker": ("shoe",),
    "earbud": ("headphone", "earphone"),
    "thermos": ("cup",),
    "hoodie": ("sweatshirt",),
    "bottle": ("flask",),
}
_NO_SINGULAR = frozenset({"jeans", "shorts", "pants", "trousers", "leggings", "glasses", "thermos", "dress", "glass"})


def sku_key(text: str) -> str:
    """A SKU as compared: upper case, without spaces, hyphens, dots or underscores."""
    return _SKU_FOLD.sub("", unicodedata.normalize("NFKC", text)).upper()


def singular(word: str) -> str:
    """English singular of a product word ("hoodies" -> "hoodie", "jeans" stays)."""
    if word in _NO_SINGULAR or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = re.sub(r"\bt[\s\-]?shirts?\b", "tshirt", folded)
    folded = re.sub(r"\btees?\b", "tshirt", folded)
    return folded


@dataclass(slots=True)
class _Units:
    """A text broken into units: words/characters/numbers, and colours apart."""

    plain: set[str] = field(default_factory=set)
    colours: set[str] = field(default_factory=set)


def _units(text: str, implies: bool) -> _Units:
    folded = _fold(text)
    for phrase, title_words in _ZH_ALIASES.items():
        folded = folded.replace(phrase.casefold(), title_words.casefold())
    for word in _ZH_STOP_WORDS:
        folded = folded.replace(word, " ")
    out = _Units()
    tokens = _TOKENS.findall(folded)
    # Where a colour character is part of a word that names no colour (蓝牙, 厘米).
    not_colour_at = {
        m.start() + w.index(c)
        for w in _ZH_NOT_COLOUR
        for m in re.finditer(re.escape(w), folded)
        for c in w
        if c in ZH_COLOURS
    }
    position = 0
    for token in tokens:
        at = folded.find(token, position)
        position = at + len(token) if at >= 0 else position
        if _CJK.fullmatch(token):
            if token in _ZH_STOP:
                continue
            if token == "子" and at > 0 and _CJK.match(folded[at - 1]):
                continue  # 袜子, 帽子, 杯子: the noun suffix
            if token == "色":
                continue
            if token in ZH_COLOURS and at not in not_colour_at:
                out.colours.add(ZH_COLOURS[token])
                if implies:
                    out.plain.add(token)  # a product's 红 still matches 红 said as a word
                continue
            out.plain.add(token)
            continue
        if token[0].isdigit():
            if token == "1" and not implies and not _CJK.search(folded):
                continue  # "the red one", read as "red 1" by the number normaliser
            out.plain.add(token)
            continue
        if token in _EN_STOP:
            continue
        if token in EN_COLOURS:
            out.colours.add(EN_COLOURS[token])
            continue
        word = _EN_SYNONYMS.get(token, token)
        word = _EN_SYNONYMS.get(singular(word), singular(word))
        out.plain.add(word)
        if implies:
            out.plain.update(_EN_IMPLIES.get(word, ()))
    return out


@dataclass(frozen=True, slots=True)
class _Entry:
    product: CatalogProduct
    title_units: _Units  # from the titles: colours come only from here
    units: _Units  # titles, description and facts
    title_keys: frozenset[str]


def _title_key(text: str) -> str:
    words = [w for w in re.findall(r"[a-z0-9]+|[\u3400-\u9fff]", _fold(text)) if w not in _EN_STOP]
    return "".join(singular(w) for w in words)


class ProductIndex:
    """One merchant's products, indexed for ``resolve``; build once per catalog revision."""

    def __init__(self, products: Iterable[CatalogProduct]) -> None:
        self.products: tuple[CatalogProduct, ...] = tuple(products)
        self._by_sku: dict[str, str] = {}
        self._entries: list[_Entry] = []
        for product in self.products:
            self._by_sku.setdefault(sku_key(product.sku), product.sku)
            titles = _units(f"{product.title} {product.title_en}", implies=True)
            words = _units(" ".join(product.words), implies=True)
            everything = _Units(titles.plain | words.plain, titles.colours)
            keys = frozenset(k for k in (_title_key(product.title), _title_key(product.title_en)) if k)
            self._entries.append(_Entry(product, titles, everything, keys))
        self.skus = frozenset(p.sku for p in self.products)
        # every unit of every title: a phrase with a unit outside it names nothing by title
        self._title_units = frozenset(u for e in self._entries for u in e.title_units.plain)

    def __len__(self) -> int:
        return len(self.products)

    def resolve(self, phrase: str) -> Match:
        """One confident match, several candidates (sorted), or none (see the module docstring)."""
        phrase = phrase.strip()
        if not phrase:
            return NONE
        sku = self._sku(phrase)
        if sku is not None:
            return Match("one", (sku,))
        key = _title_key(phrase)
        if key:
            exact = [e for e in self._entries if key in e.title_keys]
            if exact:
                return self._answer(exact)
        said = _units(phrase, implies=False)
        if not said.plain and not said.colours:
            return NONE
        by_title: list[_Entry] = []
        full: list[_Entry] = []
        partial: list[tuple[int, _Entry]] = []
        for entry in self._entries:
            if not said.colours <= entry.units.colours:
                continue
            if said.plain <= entry.title_units.plain:
                by_title.append(entry)
            if len(said.plain & entry.units.plain) == len(said.plain):
                full.append(entry)
                continue
            # Partly: by the titles only (速干短裤 is the shorts even if no fact says 速干); a
            # character of a care instruction is no reason to name a product.
            covered = len(said.plain & entry.title_units.plain)
            if covered * 2 >= len(said.plain) and covered:
                partial.append((covered, entry))
        if by_title or full:
            return self._answer(by_title or full)
        if partial:
            best = max(c for c, _ in partial)
            return self._answer([e for c, e in partial if c == best])
        return NONE

    def resolve_title(self, phrase: str) -> Match:
        """Like ``resolve``, by SKU and title words only: a phrase inside a longer sentence
        ("since the canvas totes keep selling out") names a product by its title, and "keep"
        in a description ("keeps drinks hot") or half a title's words is no naming."""
        phrase = phrase.strip()
        sku = self._sku(phrase) if phrase else None
        if sku is not None:
            return Match("one", (sku,))
        said = _units(phrase, implies=False)
        if not said.plain or not said.plain <= self._title_units:
            return NONE  # the common case inside a sentence, decided without a pass over the catalog
        named = [e for e in self._entries if said.colours <= e.units.colours and said.plain <= e.title_units.plain]
        return self._answer(named) if named else NONE

    def select(self, query: str | None = None, status: str | None = None) -> tuple[str, ...]:
        """Every product a selection names (a bulk change's, a product list's), sorted SKUs:
        those whose titles cover the query's words, else whose titles, description and facts
        do; only products in ``status`` when given, else those not archived; every such product
        for no query."""
        entries = [
            e
            for e in self._entries
            if (e.product.status == status if status is not None else e.product.status != "archived")
        ]
        if query and query.strip():
            said = _units(query, implies=False)
            fits = [e for e in entries if said.colours <= e.units.colours]
            entries = [e for e in fits if said.plain <= e.title_units.plain] or [
                e for e in fits if said.plain <= e.units.plain
            ]
        return tuple(sorted({e.product.sku for e in entries}))

    def _sku(self, phrase: str) -> str | None:
        whole = self._by_sku.get(sku_key(phrase))
        if whole is not None:
            return whole
        found = {
            self._by_sku[sku_key(w)]
            for w in re.findall(r"[A-Za-z0-9\-]+", unicodedata.normalize("NFKC", phrase))
            if sku_key(w) in self._by_sku and any(c.isdigit() for c in w)
        }
        return found.pop() if len(found) == 1 else None

    @staticmethod
    def _answer(entries: list[_Entry]) -> Match:
        if len(entries) > 1:
            live = [e for e in entries if e.product.status != "archived"]
            if live:
                entries = live
        skus = tuple(sorted({e.product.sku for e in entries}))
        if len(skus) == 1:
            return Match("one", skus)
        return Match("several", skus)


@dataclass(frozen=True, slots=True)
class CommandResolution:
    """A command with its product resolved: ``candidates`` set when several products fit
    (``sku`` then cleared), ``unknown`` set to the name as said when none does."""

    command: Command
    candidates: tuple[str, ...] = ()
    unknown: str = ""


def resolve_command(command: Command, index: ProductIndex) -> CommandResolution:
    """Resolve the product a command names against ``index`` (a copy; the input is untouched).

    One match sets ``sku`` to it; several clear ``sku`` and list the candidates; none leaves
    ``sku`` as said and reports it. A bulk command's explicit ``skus`` are resolved one by one
    (a name that is not exactly one product is reported as unknown).
    """
    # Imported here: the shopvoice.grammar package imports this module (its vocabulary), so a
    # module-level import made `import shopvoice.resolution` fail when it came first.
    from shopvoice.grammar.contract import BULK_INTENTS, SKU_INTENTS

    intent = command.WhichOneof("intent")
    # the intents whose `sku` names an existing product (create_product's names a new one)
    if intent not in SKU_INTENTS | {"sales_report"} and intent not in BULK_INTENTS:
        return CommandResolution(command)
    resolved = Command()
    resolved.CopyFrom(command)
    message = getattr(resolved, intent)
    if intent in BULK_INTENTS:
        skus = list(message.skus)
        for n, said in enumerate(skus):
            match = index.resolve(said)
            if match.sku is None:
                return CommandResolution(resolved, unknown=said)
            skus[n] = match.sku
        del message.skus[:]
        message.skus.extend(skus)
        return CommandResolution(resolved)
    said = message.sku
    if not said:
        return CommandResolution(resolved)
    match = index.resolve(said)
    if match.outcome == "one":
        message.sku = match.candidates[0]
        return CommandResolution(resolved)
    if match.outcome == "several":
        message.ClearField("sku")
        return CommandResolution(resolved, candidates=match.candidates)
    return CommandResolution(resolved, unknown=said)
