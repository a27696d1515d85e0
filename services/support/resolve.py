"""Which products a customer question names, found inside the whole question.

The merchant side resolves a phrase it has already cut out of a command; a customer's
question is free text ("hi quick q is the thermos dishwasher safe"), so here the
product names are found inside it: SKUs ("a101"), titles in either language ("红色T恤",
"red t-shirt"), partial names and plurals ("the backpack", "hats", "短裤", "卫衣"), a
few everyday words for a kind ("hat" for the cap, "鞋子" for the sneakers, "白T"), a
colour with a kind ("red hoodie", "灰色卫衣"), and typos of a kind's name ("jeens",
"运动谢"). A colour alone ("the white one", "有红色的吗") names a product only through
the conversation: among the products just offered, else among those of the kind just
discussed.

The answer is the products named, in the order named, the mentions that fit several
products (the assistant asks which one), and where in the question the names were (so
that cue words inside a name, such as "canvas" in "the canvas tote", are not read as
the question).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.support.shopdata import ShopProduct
from shopvoice.resolution import CatalogProduct, ProductIndex, singular

COLOURS_EN = {
    "red": "red",
    "white": "white",
    "black": "black",
    "blue": "blue",
    "grey": "grey",
    "gray": "grey",
    "green": "green",
    "yellow": "yellow",
    "pink": "pink",
    "purple": "purple",
    "brown": "brown",
}
COLOURS_ZH = {"红": "red", "白": "white", "黑": "black", "蓝": "blue", "灰": "grey", "绿": "green", "黄": "yellow"}
COLOURS_ZH.update({"粉": "pink", "紫": "purple", "棕": "brown"})
# Everyday words for a kind, mapped to a word of the product's English title.
SYNONYMS_EN = {
    "hat": "cap",
    "shoe": "sneaker",
    "trainer": "sneaker",
    "mug": "cup",
    "tumbler": "cup",
    "flask": "bottle",
    "headphone": "earbud",
    "earphone": "earbud",
    "bud": "earbud",
    "sweatshirt": "hoodie",
    "hoody": "hoodie",
    "denim": "jean",
    "rucksack": "backpack",
    "knapsack": "backpack",
    "tee": "t-shirt",
    "tshirt": "t-shirt",
}
# Words of a title that do not name the product on their own ("running" in "earbuds, ok
# for running?", "water" in "boiling water", "cotton" in "is it cotton?").
MODIFIERS_EN = frozenset(
    {"running", "water", "steel", "stainless", "wool", "cotton", "canvas", "charging", "case", "with", "and", "of"}
)
# Everyday Chinese words for a kind, mapped to the last character of a product's kind.
SYNONYMS_ZH = {
    "鞋子": "鞋",
    "鞋": "鞋",
    "帽子": "帽",
    "袜子": "袜",
    "杯子": "杯",
    "水杯": "杯",
    "背包": "包",
    "书包": "包",
    "包包": "包",
}
SYNONYMS_ZH.update({"裤子": "裤", "鸭舌帽": "帽", "帽": "帽", "球鞋": "鞋", "保温壶": "杯"})

# Words a question is made of, never typos of a product ("stock" is not "socks").
_CUE_WORDS = frozenset({"stock", "price", "sizes", "store", "shops", "thanks", "hello", "order", "where", "which"})
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2}")
_CODE = re.compile(r"(?<![a-z0-9])([a-z0-9]+(?:-[a-z0-9]+)*)(?![a-z0-9])")
_TSHIRT = re.compile(r"\bt[\s-]?shirts?\b|\btees\b")
_ZH_COLOUR_T = re.compile(r"([红白黑蓝灰绿黄粉紫棕])(?:色)?t(?![a-z0-9])")
_ZH_COLOUR_ONLY = re.compile(r"([红白黑蓝灰绿黄粉紫棕])(?:色的?|的|款)")
_EN_COLOUR_ONLY = re.compile(r"\b(" + "|".join(COLOURS_EN) + r")(?:\s+(?:one|ones))?\b")


def fold(text: str) -> str:
    """Width, case and punctuation folded; hyphens inside words kept ("t-shirt")."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _TSHIRT.sub(lambda m: " t-shirt ", text)
    text = re.sub(r"(?<=[a-z])['’](?=[a-z])", "", text)  # "don't" is one word ("dont"), as cues spell it
    return re.sub(r"[^\w\s\-%.]|(?<!\w)-|-(?!\w)", " ", text)


def _distance_one(a: str, b: str) -> bool:
    """Whether a and b differ by one substitution, insertion or deletion."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


@dataclass(frozen=True)
class Entry:
    """What one product answers to."""

    product: ShopProduct
    colour: str
    words_en: tuple[str, ...]  # singular title words
    head_en: str
    aliases_en: frozenset[str]  # single words that name it
    zh_kind: str  # the Chinese title without its colour ("连帽卫衣")
    aliases_zh: tuple[str, ...]  # longest first
    title_words: frozenset[str]  # English title words but colours, and the Chinese title's character pairs

    @property
    def kind(self) -> str:
        return self.head_en or self.zh_kind[-2:]


def entry(product: ShopProduct) -> Entry:
    title = unicodedata.normalize("NFKC", product.title).casefold()
    colour = ""
    zh_kind = title
    match = re.match(r"([红白黑蓝灰绿黄粉紫棕])色", title)
    if match:
        colour, zh_kind = COLOURS_ZH[match.group(1)], title[2:]
    words = tuple(singular(w) for w in _WORD.findall(fold(product.title_en)))
    colour = colour or next((COLOURS_EN[w] for w in words if w in COLOURS_EN), "")
    nouns = [w for w in words if w not in COLOURS_EN]
    head = nouns[-1] if nouns else ""
    aliases = {w for w in nouns if w not in MODIFIERS_EN}
    aliases_zh: set[str] = set()
    if re.search(r"[\u4e00-\u9fff]", title):
        aliases_zh |= {title, zh_kind}
        if len(zh_kind) >= 3:
            aliases_zh |= {zh_kind[i:] for i in range(1, len(zh_kind) - 1)}
        if len(zh_kind) >= 4:  # 帆布托特包 is also 帆布包; 不锈钢水壶 不锈钢壶
            aliases_zh |= {zh_kind[:2] + zh_kind[-1], zh_kind[:3] + zh_kind[-1], zh_kind[:2] + zh_kind[-2:]}
    aliases_zh = {a for a in aliases_zh if a.strip()}
    pairs = {title[i : i + 2] for i in range(len(title) - 1) if _HAN_RUN.fullmatch(title[i : i + 2])}
    return Entry(
        product,
        colour,
        words,
        head,
        frozenset(aliases),
        zh_kind,
        tuple(sorted(aliases_zh, key=len, reverse=True)),
        frozenset(nouns) | pairs,
    )


@dataclass
class Mention:
    skus: list[str]
    start: int
    end: int
    colour: str = ""
    typo: bool = False  # found as a typo of a name: the merchant side's reading does not apply
    plural: bool = False  # "the hoodies": every product it fits, not one of them


@dataclass
class Resolution:
    skus: list[str] = field(default_factory=list)  # products named, resolved, in order
    ambiguous: list[str] = field(default_factory=list)  # candidates of a mention that fits several
    plural: bool = False  # the ambiguous mention was a plural ("how much are the hoodies")
    spans: list[tuple[int, int]] = field(default_factory=list)  # in `text`
    text: str = ""  # the folded question the spans index

    @property
    def named(self) -> bool:
        return bool(self.skus or self.ambiguous)

    def without_names(self) -> str:
        out = self.text
        for start, end in sorted(self.spans, reverse=True):
            out = out[:start] + " " + out[end:]
        return out


class ProductNames:
    """The names of one shop's products; build once per product list."""

    def __init__(self, products: Sequence[ShopProduct]) -> None:
        self.entries = [entry(p) for p in products]
        self.by_sku = {e.product.sku: e for e in self.entries}
        self.sku_owner = {s.casefold(): e.product.sku for e in self.entries for s in e.product.skus}
        # The merchant side's resolution decides what a phrase found here names.
        self.index = ProductIndex(
            CatalogProduct(sku, p.title, p.title_en, (p.description,)) for p in products for sku in p.skus
        )

    def candidates(self, phrase: str, found: list[str]) -> list[str]:
        """What the phrase names, by shopvoice.resolution where it knows the phrase ("thermos",
        "hats", "红T"), else what the question's own reading found (a typo, "短裤")."""
        match = self.index.resolve(phrase)
        if match.outcome == "none":
            return found
        owners = sorted({self.sku_owner[s.casefold()] for s in match.candidates if s.casefold() in self.sku_owner})
        return owners or found

    def product(self, sku: str) -> ShopProduct | None:
        e = self.by_sku.get(sku) or self.by_sku.get(self.sku_owner.get(sku.casefold(), ""))
        return e.product if e else None

    def _en_mentions(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        tokens = [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]
        index = 0
        while index < len(tokens):
            word = tokens[index][2]
            w = SYNONYMS_EN.get(singular(word), singular(word))
            if (
                w == "sneaker"
                and word == "shoe"
                and index + 1 < len(tokens)
                and tokens[index + 1][2].startswith("size")
            ):
                index += 1  # "shoe sizes" of the socks
                continue
            owners = [e for e in self.entries if w in e.aliases_en]
            if not owners:
                index += 1
                continue
            # Widen the span over the neighbouring title words ("the steel water bottle").
            first, last = index, index
            while first > 0 and any(singular(tokens[first - 1][2]) in e.words_en for e in owners):
                first -= 1
            while last + 1 < len(tokens) and any(singular(tokens[last + 1][2]) in e.words_en for e in owners):
                last += 1
            span_words = {singular(t[2]) for t in tokens[first : last + 1]}
            narrowed = [e for e in owners if span_words - set(COLOURS_EN) <= set(e.words_en) | {w, singular(word)}]
            owners = narrowed or owners
            colour = ""
            for t in tokens[max(0, first - 1) : last + 1]:
                colour = COLOURS_EN.get(t[2], colour)
            if colour and not any(t[2] in COLOURS_EN for t in tokens[first : last + 1]) and first > 0:
                first -= 1
            plural = singular(tokens[last][2]) != tokens[last][2]
            found.append(
                Mention([e.product.sku for e in owners], tokens[first][0], tokens[last][1], colour, plural=plural)
            )
            index = last + 1
        return found

    def _zh_mentions(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        taken = [False] * len(text)
        aliases = sorted(
            ((alias, e) for e in self.entries for alias in e.aliases_zh), key=lambda pair: len(pair[0]), reverse=True
        )
        by_alias: dict[str, list[Entry]] = {}
        for alias, e in aliases:
            by_alias.setdefault(alias, []).append(e)
        for alias in sorted(by_alias, key=len, reverse=True):
            for match in re.finditer(re.escape(alias), text):
                if any(taken[match.start() : match.end()]):
                    continue
                found.append(self._zh_mention(text, by_alias[alias], match.start(), match.end(), taken))
        for word, tail in sorted(SYNONYMS_ZH.items(), key=lambda item: len(item[0]), reverse=True):
            for match in re.finditer(re.escape(word), text):
                if any(taken[match.start() : match.end()]):
                    continue
                owners = [e for e in self.entries if e.zh_kind.endswith(tail)]
                if owners:
                    found.append(self._zh_mention(text, owners, match.start(), match.end(), taken))
        for match in _ZH_COLOUR_T.finditer(text):
            if any(taken[match.start() : match.end()]):
                continue
            owners = [e for e in self.entries if "t恤" in e.zh_kind and e.colour == COLOURS_ZH[match.group(1)]]
            if owners:
                found.append(self._zh_mention(text, owners, match.start(), match.end(), taken))
        return found

    def _zh_mention(self, text: str, owners: list[Entry], start: int, end: int, taken: list[bool]) -> Mention:
        colour = ""
        before = re.search(r"([红白黑蓝灰绿黄粉紫棕])色?的?$", text[max(0, start - 3) : start])
        if before:
            colour = COLOURS_ZH[before.group(1)]
            start -= len(before.group(0))
        for i in range(start, end):
            taken[i] = True
        return Mention([e.product.sku for e in owners], start, end, colour)

    def _fuzzy(self, text: str) -> list[Mention]:
        """Typos of a kind's name, tried only when nothing was named exactly."""
        found: list[Mention] = []
        for m in _WORD.finditer(text):
            word = m.group()
            if len(word) < 5 or singular(word) in _CUE_WORDS:
                continue
            owners = [
                e
                for e in self.entries
                if any(
                    (len(alias) >= 5 and _distance_one(word, alias)) or _distance_one(word, alias + "s")
                    for alias in e.aliases_en
                    if len(alias) >= 4
                )
            ]
            if owners:
                found.append(Mention([e.product.sku for e in owners], m.start(), m.end(), typo=True))
        for e in self.entries:
            for alias in e.aliases_zh:
                if len(alias) < 3 or alias not in e.zh_kind:  # typos of the title's own words only
                    continue
                for start in range(0, len(text) - len(alias) + 1):
                    window = text[start : start + len(alias)]
                    if window[0] == alias[0] and _distance_one(window, alias):
                        found.append(Mention([e.product.sku], start, start + len(alias), typo=True))
        return found

    def _colour_only(self, text: str) -> tuple[str, tuple[int, int]] | None:
        match = _EN_COLOUR_ONLY.search(text) or _ZH_COLOUR_ONLY.search(text)
        if match is None:
            return None
        said = match.group(1)
        return COLOURS_EN.get(said) or COLOURS_ZH.get(said, ""), (match.start(), match.end())

    def resolve(
        self, raw: str, normalized: str, offered: Sequence[str] = (), context: Sequence[str] = ()
    ) -> Resolution:
        """The products a question names. `offered`: the candidates the last answer asked to
        choose from; `context`: the products the conversation was last about."""
        text = fold(raw)
        result = Resolution(text=text)
        mentions: list[Mention] = []
        for source in (text, fold(normalized)):
            for match in _CODE.finditer(source):
                owner = self.sku_owner.get(match.group(1)) or self.sku_owner.get(match.group(1).replace("-", ""))
                if owner and source is text:
                    mentions.append(Mention([owner], match.start(), match.end()))
                elif owner and not any(owner in m.skus for m in mentions):
                    mentions.append(Mention([owner], 0, 0))
        masked = text
        for m in mentions:
            masked = masked[: m.start] + " " * (m.end - m.start) + masked[m.end :]
        named = self._en_mentions(masked) + self._zh_mentions(masked)
        if not named and not mentions:
            named = self._fuzzy(masked)
        mentions += named
        mentions.sort(key=lambda m: m.start)
        for mention in mentions:
            result.spans.append((mention.start, mention.end))
            skus = mention.skus
            if mention.end > mention.start and not mention.typo:
                skus = self.candidates(text[mention.start : mention.end], skus)
            if len(skus) > 1 and mention.colour:
                skus = [s for s in skus if self.by_sku[s].colour == mention.colour] or skus
            if len(skus) > 1 and offered:
                skus = [s for s in skus if s in offered] or skus
            if len(skus) == 1:
                if skus[0] not in result.skus:
                    result.skus.append(skus[0])
            else:
                result.ambiguous = sorted(set(result.ambiguous) | set(skus))
                result.plural = mention.plural
        if not mentions and (offered or len(context) > 1):
            # "帆布的那个" / "the canvas one" after "which one: the backpack or the tote?", or
            # after an answer about both
            chosen = self._by_title_words(text, offered or context)
            if chosen:
                sku, span = chosen
                result.skus.append(sku)
                result.spans.append(span)
                return result
        if not mentions:
            colour_only = self._colour_only(text)
            if colour_only:
                colour, span = colour_only
                skus = self._by_colour(colour, offered, context)
                result.spans.append(span)
                if len(skus) == 1:
                    result.skus.append(skus[0])
                elif skus:
                    result.ambiguous = skus
        return result

    def _by_title_words(self, text: str, offered: Sequence[str]) -> tuple[str, tuple[int, int]] | None:
        """The one offered product a word of the answer names (an English title word, a
        two-character run of a Chinese title), with where the word is; else None."""
        said = [(m.span(), singular(m.group())) for m in _WORD.finditer(text)]
        said += [((i, i + 2), text[i : i + 2]) for i in range(len(text) - 1)]
        chosen: list[tuple[str, tuple[int, int]]] = []
        for sku in offered:
            e = self.by_sku.get(sku)
            span = next((span for span, word in said if word in e.title_words), None) if e else None
            if span is not None:
                chosen.append((sku, span))
        return chosen[0] if len(chosen) == 1 else None

    def _by_colour(self, colour: str, offered: Sequence[str], context: Sequence[str]) -> list[str]:
        coloured = [e for e in self.entries if e.colour == colour]
        among_offered = [e.product.sku for e in coloured if e.product.sku in offered]
        if among_offered:
            return among_offered
        kinds = {self.by_sku[s].kind for s in context if s in self.by_sku}
        same_kind = [e.product.sku for e in coloured if e.kind in kinds]
        if same_kind:
            return same_kind
        return sorted(e.product.sku for e in coloured)
