"""Typos in typed commands: "cancle order 4471", "set the prcie of A101", 库村, 退宽.

Merchants type fast: letters swapped, doubled or dropped in English, and in Chinese the input
method's wrong characters of the same sound (库村 for 库存, 退宽 for 退款, 价个 for 价格). The
parser tries a corrected text when the text as typed does not parse fully and surely, and keeps
it only when it parses better; and when a sure parse named its product by title (a title takes in
the words around it), where a corrected reading of another intent is taken as a guess that is
read back. A product's name (which the grammar does not know) is never "corrected" into a
command word: catalog_words are left alone.

English: a word of four letters or more that the grammar does not use (a word English uses,
by pyspellchecker's word list, only as another form of itself: customers, changed), one edit (a letter
inserted, dropped, changed, or two neighbours swapped) from exactly one word of four letters or
more that it does, with the same first letter, or from several of which one is used at least
three times as often as any other ("stok": stock, not stop). Chinese: two characters the grammar does not use
together, with the sound (pinyin, tones ignored) of exactly one pair it does use.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import cache, lru_cache

import yaml
from pypinyin import lazy_pinyin
from rapidfuzz.distance import OSA
from spellchecker import SpellChecker
from spellchecker.spellchecker import WordFrequency

from shopvoice.grammar.sentences import sentences_dir
from shopvoice.grammar.vocabulary import Vocabulary

_EN_WORD = re.compile(r"[a-z]+")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+")
MIN_WORD = 4
# How often a word must occur in pyspellchecker's English frequency list (drawn from subtitles,
# where "chuck" has 7,535 and "lunch" 84,794) to be a word and not a typo ("prcie", "stok": 0).
COMMON_WORD = 500


def _strings(node: object) -> list[str]:
    """Every string in a sentence file: sentences, rules, list phrases (keys and values)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def _file_text(language: str) -> list[str]:
    texts: list[str] = []
    for path in sorted((sentences_dir() / language).glob("*.yaml")):
        texts += _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
    # Slot and rule names ({sku}, <query>) are not words anybody types.
    return [re.sub(r"\{[^}]*\}|<[^>]*>", " ", text) for text in texts]


@cache
def english_words() -> frozenset[str]:
    return frozenset(_en_counts())


@cache
def _by_start() -> dict[str, tuple[str, ...]]:
    """The grammar's words of MIN_WORD letters or more by first letter: the only ones a typo is
    measured against (a typed word is looked up in microseconds, not against every word)."""
    found: dict[str, list[str]] = defaultdict(list)
    for word in english_words():
        if len(word) >= MIN_WORD:
            found[word[0]].append(word)
    return {start: tuple(sorted(words)) for start, words in found.items()}


@cache
def chinese_pairs() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """The character pairs the Chinese grammar uses, and by sound (toneless pinyin) which they are."""
    pairs = {run[i : i + 2] for text in _file_text("zh") for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)}
    by_sound: dict[str, set[str]] = defaultdict(set)
    for pair in pairs:
        by_sound[_sound(pair)].add(pair)
    return frozenset(pairs), {sound: frozenset(found) for sound, found in by_sound.items()}


@lru_cache(maxsize=65536)
def _sound(pair: str) -> str:
    return " ".join(lazy_pinyin(pair))


def _english_fix(word: str, known: frozenset[str], keep: frozenset[str]) -> str | None:
    low = word.lower()
    if len(low) < MIN_WORD or not low.isalpha() or low in known or low in keep:
        return None
    near = [
        w
        for w in _by_start().get(low[0], ())
        if abs(len(w) - len(low)) <= 1 and OSA.distance(low, w, score_cutoff=1) <= 1
    ]
    if _is_english(low):
        # a real word is only read as another form of itself ("customers", "changed"), never as
        # another word ("chuck" as "check")
        near = [w for w in near if _inflection(low, w)]
    if len(near) == 1:
        return near[0]
    # Several words one edit away ("stok": stock, stop): the one the grammar uses far more often,
    # as a spelling corrector weighs candidates by how common they are; else none.
    counts = _en_counts()
    ranked = sorted(near, key=lambda w: -counts[w])
    return ranked[0] if ranked and counts[ranked[0]] >= 3 * max(counts[ranked[1]], 1) else None


@cache
def _dictionary() -> WordFrequency:
    return SpellChecker(language="en").word_frequency


def _is_english(word: str) -> bool:
    """A word English speakers use ("chuck", "lunch", "ditch"), not a typo: it is left as said.
    Without this, "chuck another ten yoga mats in stock" was read "check ... in stock", a stock
    question. A typo that happens to be a rare word too stays correctable."""
    return _dictionary()[word] >= COMMON_WORD


def _inflection(word: str, other: str) -> bool:
    """One is the other with an -s or -d ending: shorts/short, changed/change, placed/place."""
    longer, shorter = (word, other) if len(word) > len(other) else (other, word)
    return longer[:-1] == shorter and longer[-1] in "sd"


@cache
def _en_counts() -> Counter[str]:
    """How often the English grammar uses each word (sentences, rules and lists)."""
    return Counter(w for text in _file_text("en") for w in _EN_WORD.findall(text.lower()))


@lru_cache(maxsize=64)
def catalog_words(vocabulary: Vocabulary) -> frozenset[str]:
    """What a correction must leave alone, once per vocabulary: its titles' words (lower case) and
    every two characters of them (a Chinese title's own pairs)."""
    words: set[str] = set()
    for _, title in vocabulary.products:
        low = title.lower()
        words.update(low.split())
        words.update(low[i : i + 2] for i in range(len(low) - 1))
    return frozenset(words)


def correct(text: str, language: str, keep: frozenset[str] = frozenset()) -> str:
    """``text`` (normalised) with its likely typos corrected; ``keep``: words and character pairs
    never changed (catalog_words)."""
    if language == "en":
        known = english_words()
        words = text.split(" ")
        return " ".join(_english_fix(w, known, keep) or w for w in words)
    pairs, by_sound = chinese_pairs()
    chars = list(text)
    i = 0
    while i < len(chars) - 1:
        pair = chars[i] + chars[i + 1]
        if _CJK_RUN.fullmatch(pair) and pair not in pairs and pair not in keep:
            found = by_sound.get(_sound(pair), frozenset())
            if len(found) == 1 and not _changes_a_word(chars, i, next(iter(found)), (pairs, keep)):
                (fixed,) = found
                chars[i], chars[i + 1] = fixed[0], fixed[1]
                i += 2
                continue
        i += 1
    return "".join(chars)


def _changes_a_word(chars: list[str], i: int, fixed: str, words: tuple[frozenset[str], ...]) -> bool:
    """Whether the fix changes a character that makes a pair of the grammar (or of a title) with
    its other neighbour:
    in 库存补到 the pair 存补 straddles two words, and "fixing" it to 存不 broke 补到 (read 库存不到).
    In 耳机的库村查一下 the 村 it changes pairs with nothing, so 库存 is taken."""
    left_changes, right_changes = fixed[0] != chars[i], fixed[1] != chars[i + 1]
    left, right = (chars[i - 1] + chars[i] if i > 0 else ""), "".join(chars[i + 1 : i + 3])
    left_word = bool(left) and any(left in known for known in words)
    right_word = any(right in known for known in words)
    return (left_changes and left_word) or (right_changes and right_word)
