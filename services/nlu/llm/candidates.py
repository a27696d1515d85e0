"""The catalog products an utterance may name: the model chooses among these, never outside them.

Per utterance, from the merchant's vocabulary (SKU, title pairs, both languages): the SKU
codes the text contains, then the products whose title best matches a part of the text
(fuzzy, on the characters and on the pinyin, so a misheard or partial name still finds
them), best first, at most ``limit``. They go at the END of the prompt (the prefix stays
the same for every utterance, so the server reuses it) and into the schema as the only SKUs
the model may answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

from services.nlu.llm.ground import codes_in
from shopvoice.grammar import Vocabulary
from shopvoice.grammar.mentions import product_mention
from shopvoice.grammar.vocabulary import title_key

LIMIT = 5
MIN_SCORE = 60.0  # out of 100
MIN_KEY_CHARS = 2
MIN_SOUND = 85.0  # pinyin similarity for a title that shares no character with the text
_WORD = re.compile(r"[a-z]+")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "to",
        "and",
        "or",
        "in",
        "on",
        "for",
        "is",
        "are",
        "it",
        "one",
        "ones",
        "this",
        "that",
        "my",
        "our",
        "with",
    ]
)
_CJK = re.compile(r"[\u4e00-\u9fff]+")


def _words(text: str) -> set[str]:
    return {w.removesuffix("s") for w in _WORD.findall(text.casefold()) if w not in _STOP and len(w) > 1}


def _hyphened(title: str) -> dict[str, str]:
    """A title's hyphenated words by how they are typed without the hyphen: {"tshirt": "t-shirt"}."""
    return {w.replace("-", "").removesuffix("s"): w for w in re.findall(r"[a-z]+(?:-[a-z]+)+", title.casefold())}


def _common_run(a: str, b: str) -> int:
    """The longest run of characters ``a`` and ``b`` share."""
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


def _overlap(title: str, text: str) -> float:
    """60..100 when the text shares a word (English) or a run of 2+ characters (Chinese) with the title."""
    score = 0.0
    title_words, text_words = _words(title), _words(text)
    for joined, hyphened in _hyphened(title).items():
        if joined in text_words:  # "tshirt price to 85": the T-shirts, typed as one word
            text_words |= _words(hyphened)
    if title_words and (shared := title_words & text_words):
        score = 60 + 40 * len(shared) / len(title_words)
    key, text_key = title_key(title), title_key(text)
    if _CJK.search(key):
        covered = sum(1 for ch in key if ch in text_key)  # 红色卫衣 covers 4 of 红色连帽卫衣's 6
        if _common_run(key, text_key) >= 2:
            score = max(score, 60 + 40 * covered / len(key))
        elif _CJK.fullmatch(key[-1]) and key[-1] in text_key:
            score = max(score, 65.0)  # the kind the title ends with: 袜 of 羊毛袜, 包 of 双肩包
    return score


@dataclass(frozen=True, slots=True)
class Candidate:
    sku: str
    titles: tuple[str, ...]
    score: float  # 100 for a code said or a whole title inside the text

    def line(self) -> str:
        return f"{self.sku}: {' / '.join(self.titles)}"


@lru_cache(maxsize=64)
def _products(vocabulary: Vocabulary) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]:
    """Per SKU: its titles (its own and its English one: "the earbuds" must find 蓝牙耳机), their
    keys and the keys' pinyin (computed once per vocabulary)."""
    titles: dict[str, list[str]] = {}
    on_sale = {sku for sku, _ in vocabulary.products}
    named = list(vocabulary.products)
    named += [(p.sku, p.title_en) for p in vocabulary.details if p.sku in on_sale]
    for sku, title in named:
        if title and title not in titles.setdefault(sku, []):
            titles[sku].append(title)
    out = []
    for sku, names in titles.items():
        keys = tuple(k for k in (title_key(n) for n in names) if len(k) >= MIN_KEY_CHARS)
        out.append((sku, tuple(names), keys, tuple("".join(lazy_pinyin(k)) for k in keys)))
    return tuple(out)


def candidates(text: str, vocabulary: Vocabulary | None, limit: int = LIMIT) -> list[Candidate]:
    """The products ``text`` may name, best first."""
    if vocabulary is None or not len(vocabulary):
        return []
    products = _products(vocabulary)
    by_sku = {sku: names for sku, names, _, _ in products}
    found: dict[str, Candidate] = {}
    for code in sorted(codes_in(text)):
        if code in vocabulary.skus:
            found[code] = Candidate(code, by_sku.get(code, ()), 100.0)
    key = title_key(text)
    if not key:
        return list(found.values())[:limit]
    key_pinyin = "".join(lazy_pinyin(key))
    scored: list[Candidate] = []
    for sku, names, keys, pinyins in products:
        if sku in found:
            continue
        score = max((_overlap(name, text) for name in names), default=0.0)
        for title, spelled in zip(keys, pinyins, strict=True):
            if title in key:
                score = 100.0
            elif not score and _CJK.search(key) and _CJK.search(title):
                # nothing shared: a Chinese title misheard as other characters of the same sound
                # (never for English text, whose letters are no pinyin)
                sound = fuzz.partial_ratio(spelled, key_pinyin) if len(spelled) <= len(key_pinyin) else 0.0
                score = sound - 5 if sound >= MIN_SOUND else 0.0
        if score >= MIN_SCORE:
            scored.append(Candidate(sku, names, float(score)))
    named = product_mention(text, "zh" if _CJK.search(text) else "en", vocabulary)
    if named is not None and len(named.skus) == 1 and named.skus[0] not in found:
        # The grammar's title rules name one product ("the white tee": the T-shirt, which "tee"
        # shares no letters with; the white sneakers only share "white"): it is the best match.
        (sku,) = named.skus
        scored = [c for c in scored if c.sku != sku]
        scored.append(Candidate(sku, by_sku.get(sku, ()), 100.0))
    scored.sort(key=lambda c: (-c.score, c.sku))
    return [*found.values(), *scored][:limit]


NEAR_SCORE = 8.0


def ambiguous_name(text: str, chosen: str, products: list[Candidate]) -> str | None:
    """The words of ``text`` that fit ``chosen`` and another product just as well, or None.

    The model must pick one SKU from the candidates; when the words said fit several equally
    ("卫衣" with a gray and a red hoodie), its pick is a guess. The answer then keeps the words
    as said instead, and resolution asks the merchant which one (a wrong product is worse than
    a question). A code said ("A100") or a clear best match is never ambiguous.
    """
    best = {c.sku: c for c in products}
    if chosen not in best or (best[chosen].score >= 100.0 and chosen in codes_in(text)):
        return None
    top = max(c.score for c in products)
    # A partial name scores by how much of each title it covers, so 白色 fits 白色T恤 a little
    # better than 白色运动鞋 (80 and 76) and 红色那件 the T-shirt before the hoodie: near is tied.
    # A whole title said (100) leaves no doubt: 红色连帽卫衣 is not the grey one at 93.
    tied = [c for c in products if c.score >= top - (0.0 if top >= 100.0 else NEAR_SCORE)]
    if best[chosen] not in tied or len(tied) < 2:
        return None
    text_key = title_key(text)
    shared: str | None = None
    if _CJK.search(text_key):
        keys = [title_key(name) for c in tied for name in c.titles if _CJK.search(title_key(name))]
        runs = [text_key[i:j] for i in range(len(text_key)) for j in range(i + 1, len(text_key) + 1)]
        fitting = [r for r in runs if keys and all(r in k for k in keys)]
        shared = max(fitting, key=len, default=None)
    if not shared:
        words = _words(text)
        spelled = {joined: hyphened for c in tied for name in c.titles for joined, hyphened in _hyphened(name).items()}
        common = [
            spelled.get(w, w)  # "tshirt" typed: named as the titles spell it, "t-shirt"
            for w in sorted(words)
            if all(any(w in _words(name) or w in _hyphened(name) for name in c.titles) for c in tied)
        ]
        shared = " ".join(common) or None
    return shared


#: The least score of a candidate the words name (a partial name: 白色 of 白色T恤 is 80; a kind, 65, is not).
NAMED_SCORE = 80.0


def named_product(text: str, products: list[Candidate]) -> str | None:
    """What the words name among the candidates, for an answer the model left without a product: the
    name as said where it fits several (resolution asks which), the SKU of the one product whose
    whole title was said, or None ("the black items": a colour, no product)."""
    if not products:
        return None
    top = max(products, key=lambda c: c.score)
    if top.score < NAMED_SCORE:
        return None
    if name := ambiguous_name(text, top.sku, products):
        return name
    if top.score >= 100 and [c.score for c in products].count(top.score) == 1:
        return top.sku
    return None
