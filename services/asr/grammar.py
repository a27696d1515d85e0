"""A finite-state grammar from command phrases and the catalog vocabulary.

Phrases and slot rules are written in JSGF syntax (words, [optional], (a | b),
<rule>, <rule>+), but compiled here rather than by pocketsphinx's JSGF compiler:
that one copies a rule's whole automaton at every reference, and with number
rules at each of a hundred phrase ends the search became 40x slower than
real time allows (2.2 s for a 4 s command). Here the phrases go into a prefix
tree that is then minimised (shared suffixes merged, so "... to <price>" exists
once), and only the few remaining slot edges get a copy of their rule.

Words the dictionary lacks cannot be recognised; phrases with them are dropped
and reported, never silently kept. A few domain words get pronunciations here,
and a few words a second way of saying them.

The catalog enters through the {sku} slot, and its size must not: with every SKU
and title listed there, 450 products made a spoken turn take 7-8 s (issue 30).
So a SKU is heard by its pattern (its letters, then a number or digits: "a one
hundred", "k m two zero three one"), one alternative per letter prefix the shop
uses, and product names are a bounded class: the titles of the `names` products
the catalog lists first (the newest). The rest of the catalog is heard by the
open-vocabulary engine and found by the NLU's resolution over the whole catalog.
`heard_vocabulary` is the small vocabulary that gives the same grammar, so a
catalog change that changes neither is no rebuild.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from services.asr.numbers import SKU_PATTERN, TEENS, TENS, UNITS, say_letters, say_sku
from services.asr.phrases import expand
from services.asr.vocabulary import Vocabulary

_UNITS = " | ".join(UNITS[1:])
SLOT_RULES: dict[str, str] = {
    # Digits as "zero", not "oh": on the development set "oh" was the recogniser's favourite
    # insertion inside order numbers ("one five five three oh one"); a merchant's "oh" is then
    # heard as the nearest digit word.
    "digit": " | ".join(UNITS),
    "nonzero": _UNITS,
    "below_hundred": f"{_UNITS} | {' | '.join(TEENS)} | ({' | '.join(TENS[2:])}) [{_UNITS}]",
    "below_thousand": f"<below_hundred> | ({_UNITS}) hundred [<below_hundred>]",
    "number": "zero | <below_thousand> [thousand [<below_thousand>]]",
    "quantity": "<number>",
    "price": "<number> [point <digit> [<digit>]] [dollars | yuan | bucks]",
    # A percentage a merchant changes a price by is below a thousand; with <number> here,
    # "fifteen percent" was heard as "fifty thousand eight" (dev set).
    "percent": "<below_thousand> percent",
    # Any digits when the shop's order numbers are not known; else order_rule(order_id_max).
    "order": "<digit> <digit>+ | <number>",
    "letter": " | ".join("abcdefghijklmnopqrstuvwxyz"),
    "carrier": "s f | y t o | z t o | s t o | yunda | e m s | j d | u p s | fedex | d h l | u s p s",
    "tracking": "[<letter> <letter>] <digit>+",
    "status": "pending | unfulfilled | shipped | refunded | cancelled",
    "period": "today | yesterday | this week | this month | last month | [in the] last seven days",
}

# Domain words missing from the CMU dictionary, in its phone set.
EXTRA_PRONUNCIATIONS: dict[str, str] = {
    "unlist": "AH N L IH S T",
    "yunda": "Y UW N D AH",
    "restock": "R IY S T AA K",
    # Shop words the CMU dictionary lacks (a title with one of them could not be said at all).
    "hoodie": "HH UH D IY",
    "hoodies": "HH UH D IY Z",
}
# A product word the dictionary lacks that is two of its words ("earbuds" = "ear" + "buds",
# "keychain", "phonecase") is said as the two: both parts this long at least.
COMPOUND_PART = 3

# Second pronunciations the CMU dictionary lacks, each a way people say the word that cost
# commands on the dev seeds of the spoken set (bench/asr_accuracy.py --seed 5 / 7 --errors;
# the test seed 11 was not used to choose them). A variant adds a path and takes none away.
VARIANT_PRONUNCIATIONS: dict[str, tuple[str, ...]] = {
    # A short, weak initial /n/ (fast speech, and how the bundled model hears espeak's nasals):
    # with only N AY N, "nine" lost to "one" and "ninety" to "twenty", the largest single error.
    "nine": ("AY N",),
    "ninety": ("AY N T IY",),
    "nineteen": ("AY N T IY N",),
    # Caribbean English (espeak's en-029): a tense KIT vowel ("leest") and STRUT near [ɔ];
    # "unlist" came back as a refund or as "list".
    "list": ("L IY S T",),
    "unlist": ("AH N L IY S T", "AO N L IY S T"),
    # Non-rhotic (British) English: "p'cent"; RP "percent" came back as "thousand".
    "percent": ("P AH S EH N T",),
    # TH said as T or D ("tree", "tirty", "dis"): Caribbean, Irish, West African and Indian English,
    # and many learners of English. Fewer en-029 misses on both dev seeds (27 -> 24, 29 -> 26).
    "three": ("T R IY",),
    "thirty": ("T ER T IY",),
    "thirteen": ("T ER T IY N",),
    "thousand": ("T AW Z AH N D",),
    "the": ("D AH",),
    "this": ("D IH S",),
    "that": ("D AE T",),
    "there": ("D EH R",),
    "month": ("M AH N T",),
    "with": ("W IH T",),
    # "zed": British, Commonwealth and Caribbean English; "via z t o" came back as "via s t o".
    "z": ("Z EH D",),
}

# (from, to, probability, word); three items for an empty (epsilon) transition.
Transition = tuple[int, int, float, str] | tuple[int, int, float]


@dataclass
class Grammar:
    """A finite-state grammar ready for Decoder.create_fsg, and what it needed or left out."""

    start: int
    final: int
    transitions: list[Transition]
    words: set[str]
    phrases: int
    dropped: list[str] = field(default_factory=list)


def _headword(line: str) -> str:
    """The word of a CMU dictionary line, without an alternate's "(2)"."""
    return line.split(" ", 1)[0].split("(", 1)[0]


@functools.cache
def dictionary_words(dict_path: str) -> frozenset[str]:
    """Every word of a CMU-format dictionary (alternate pronunciations folded), plus our extras."""
    return frozenset(EXTRA_PRONUNCIATIONS) | frozenset(_pronunciations(dict_path))


@functools.cache
def _pronunciations(dict_path: str) -> dict[str, str]:
    """Each word's first pronunciation in a CMU-format dictionary."""
    found: dict[str, str] = {}
    with open(dict_path, encoding="utf-8") as lines:
        for line in lines:
            word, _, phones = line.rstrip("\n").partition(" ")
            found.setdefault(word.split("(", 1)[0], phones.strip())
    return found


@functools.lru_cache(maxsize=4096)
def compound(word: str, dict_path: str) -> str | None:
    """The pronunciation of a word the dictionary lacks as two words it has ("earbuds" = "ear" +
    "buds"), the split with the longest first part; None when there is none. Cached: build() asks
    whether a title word is sayable and write_dictionary() then writes it, for every rebuild."""
    known = _pronunciations(dict_path)
    if word in known or word in EXTRA_PRONUNCIATIONS:
        return None
    for cut in range(len(word) - COMPOUND_PART, COMPOUND_PART - 1, -1):
        head, tail = word[:cut], word[cut:]
        if head in known and tail in known:
            return f"{known[head]} {known[tail]}"
    return None


def write_dictionary(dict_path: str, words: set[str], out: Path) -> Path:
    """A dictionary of just these words (a grammar decoder then loads kilobytes, not 130k entries),
    with our extra words and, numbered after the dictionary's own, our variant pronunciations."""
    pronunciations: Counter[str] = Counter()
    with open(dict_path, encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for line in src:
            word = _headword(line)
            if word in words:
                dst.write(line)
                pronunciations[word] += 1
        for word, phones in EXTRA_PRONUNCIATIONS.items():
            if word in words:
                dst.write(f"{word} {phones}\n")
                pronunciations[word] += 1
        for word, variants in VARIANT_PRONUNCIATIONS.items():
            if word not in words:
                continue
            for phones in variants:
                pronunciations[word] += 1
                dst.write(f"{word}({pronunciations[word]}) {phones}\n")
        for word in sorted(words - set(pronunciations)):
            if (parts := compound(word, dict_path)) is not None:
                dst.write(f"{word} {parts}\n")
    return out


# Product names in the grammar: the titles of the first this many products the catalog lists (the
# newest first); ASR_GRAMMAR_NAMES. The grammar's size and a turn's decoding cost grow with it, not
# with the catalog.
NAMES = 50
# More letter prefixes than this (SKUs "A100", "KM2031": prefixes "a", "k m") and a SKU is heard
# as any letters of the shop's lengths: the rule stays bounded whatever the catalog holds.
PREFIXES = 64
# SKUs said exactly rather than by pattern: every SKU of a prefix with at most this many (a small
# shop's, or a product line of a few), LISTED in all.
LISTED_PER_PREFIX = 4
LISTED = 32
# The number after a SKU's letters, as say_sku says it, by its number of digits: "n1" .. "n3" (1-999),
# "n4" (1,000-999,999), or "digits:N" (a leading zero, or more than six digits: said one by one).
# A prefix hears only the sizes its SKUs have: with any number after any prefix, a shop whose BT
# SKUs are BT100 ... BT2000 heard the demo's "e fifteen" as "b t fifty" (voice bench, 1,000 products).
SKU_NUMBER_RULES = {
    "n1": "<nonzero>",
    "n2": f"{' | '.join(TEENS)} | ({' | '.join(TENS[2:])}) [<nonzero>]",
    "n3": "<nonzero> hundred [<below_hundred>]",
    "n4": "<below_thousand> thousand [<below_thousand>]",
}


def sku_shape(sku: str) -> tuple[str, str] | None:
    """What the grammar hears of a SKU: its letters and how its number is said (a key of
    SKU_NUMBER_RULES, or "digits:N" for N digits said one by one); None for a SKU without that pattern
    (listed like a name)."""
    match = SKU_PATTERN.match(sku)
    if not match:
        return None
    letters, digits = match.groups()
    if digits.startswith("0") or len(digits) > 6:
        return letters.lower(), f"digits:{len(digits)}"
    return letters.lower(), f"n{min(len(digits), 4)}"


def name_class(vocabulary: Vocabulary, names: int = NAMES) -> list[tuple[str, str]]:
    """The products whose titles the grammar lists: the first `names` products with a title, in the
    catalog's order (GetVocabulary lists the newest products first), each with all its titles (its
    English one and its own)."""
    chosen: list[tuple[str, str]] = []
    seen: set[str] = set()
    skus: set[str] = set()
    for sku, title in vocabulary.products:
        if not title or title in seen:
            continue
        if sku not in skus and len(skus) >= names:
            break
        seen.add(title)
        skus.add(sku)
        chosen.append((sku, title))
    return chosen


def _by_letters(vocabulary: Vocabulary) -> dict[str, list[str]]:
    """The shop's patterned SKUs by their letters ("ts" -> ["TS1042", "TS1046"])."""
    by_letters: dict[str, list[str]] = {}
    for sku in vocabulary.skus:
        shape = sku_shape(sku)
        if shape is not None:
            by_letters.setdefault(shape[0], []).append(sku)
    return by_letters


def listed_skus(vocabulary: Vocabulary) -> list[str]:
    """The SKUs said exactly, not by pattern: those of the prefixes with at most LISTED_PER_PREFIX
    SKUs, fewest first, LISTED in all. A pattern lets "d forty two" be heard as "b forty two" when the
    shop has any B SKU; a prefix with a handful of SKUs (the demo shop's A100 ... E15) need not."""
    by_letters = _by_letters(vocabulary)
    if len(by_letters) > PREFIXES:
        return []
    listed: list[str] = []
    for _, letters in sorted((len(skus), letters) for letters, skus in by_letters.items()):
        group = by_letters[letters]
        if len(group) > LISTED_PER_PREFIX or len(listed) + len(group) > LISTED:
            break
        listed += group
    return listed


def heard_vocabulary(vocabulary: Vocabulary, names: int = NAMES) -> Vocabulary:
    """The smallest vocabulary with the same grammar: the name class's products; every SKU of a prefix
    with at most LISTED_PER_PREFIX of them (what `listed_skus` chooses from); of the other prefixes,
    one SKU per (letters, number) shape, and more up to LISTED_PER_PREFIX + 1 so the prefix stays a
    pattern; SKUs without the pattern only from the name class. Equal for two catalogs, equal
    grammars, so a change outside it (an older product renamed) needs no rebuild."""
    listed = name_class(vocabulary, names)
    products = list(listed)
    seen = {sku for sku, _ in listed}
    by_letters = _by_letters(vocabulary)
    for _, skus in sorted(by_letters.items()):
        shapes: set[tuple[str, str] | None] = set()
        kept = 0
        for sku in skus:
            shape = sku_shape(sku)
            if len(skus) <= LISTED_PER_PREFIX or kept <= LISTED_PER_PREFIX or shape not in shapes:
                shapes.add(shape)
                kept += 1
                if sku not in seen:
                    seen.add(sku)
                    products.append((sku, ""))
    return Vocabulary(products=tuple(products), order_id_max=vocabulary.order_id_max)


def sku_forms(vocabulary: Vocabulary, names: int = NAMES) -> list[str]:
    """JSGF alternatives for the shop's SKUs: each of `listed_skus` as said, the other prefixes by
    pattern, "(k m | t s) (<n3> | <n4>)" (prefixes grouped by the number sizes their SKUs have), and
    SKUs without the pattern spelled out one by one, from the name class only."""
    in_class = {sku for sku, _ in name_class(vocabulary, names)}
    odd = [say_sku(sku) for sku in vocabulary.skus if sku_shape(sku) is None and sku in in_class]
    exact = listed_skus(vocabulary)
    by_letters: dict[str, set[str]] = {}
    for letters, skus in _by_letters(vocabulary).items():
        if skus[0] not in exact:  # a prefix is listed whole or not at all
            by_letters[letters] = {shape[1] for shape in map(sku_shape, skus) if shape is not None}
    if len(by_letters) > PREFIXES:  # too many prefixes to list: any letters, as many as the shop's have
        heads: dict[str, set[str]] = {}
        for letters, kinds in by_letters.items():
            heads.setdefault(" ".join(["<letter>"] * len(letters)), set()).update(kinds)
    else:
        heads = {say_letters(letters): kinds for letters, kinds in by_letters.items()}
    # The prefixes grouped by the number sizes their SKUs have, one alternation of prefixes and one
    # number rule per group: a shop's product lines mostly share their sizes, so there are few groups
    # (one in the synthetic shop), and no prefix hears a size none of its SKUs has.
    groups: dict[frozenset[str], list[str]] = {}
    for head, kinds in heads.items():
        groups.setdefault(frozenset(kinds), []).append(head)
    forms = [say_sku(sku) for sku in exact]
    for sizes, group in sorted(groups.items(), key=lambda g: sorted(g[1])):
        said = " | ".join(f"({_said_number(k)})" for k in sorted(sizes))
        forms.append(f"({' | '.join(f'({h})' for h in sorted(group))}) ({said})")
    return [*forms, *odd]


def _said_number(kind: str) -> str:
    if kind in SKU_NUMBER_RULES:
        return SKU_NUMBER_RULES[kind]
    return " ".join(["<digit>"] * int(kind.split(":", 1)[1]))


def build(phrases: list[str], vocabulary: Vocabulary, dict_path: str, names: int = NAMES) -> Grammar:
    """Compile phrases (with {slot}s) and the vocabulary into one minimised finite-state grammar:
    SKUs by pattern, the titles of the name class (see the module's docstring)."""
    known = dictionary_words(dict_path)
    dropped: list[str] = []
    rules = dict(SLOT_RULES)
    product_forms: list[str] = []
    titles = [f"[the] {title.replace('-', ' ')}" for _, title in name_class(vocabulary, names)]
    for form in [*sku_forms(vocabulary, names), *titles]:
        sayable = all(w in known or compound(w, dict_path) for w in _words_of(form))
        (product_forms if sayable else dropped).append(form)
    rules["sku"] = " | ".join(f"({f})" for f in product_forms) if product_forms else ""
    if vocabulary.order_id_max:
        rules["order"] = order_rule(vocabulary.order_id_max)

    trie: _Node = _Node()
    count = 0
    for phrase in dict.fromkeys(phrases):
        for tokens in expand(phrase):
            words = [t for t in tokens if not t.startswith("{")]
            slots = [t[1:-1] for t in tokens if t.startswith("{")]
            if any(w not in known for w in words) or any(not rules.get(s) for s in slots):
                dropped.append(" ".join(tokens))
                continue
            node = trie
            for tok in tokens:
                node = node.children.setdefault(tok, _Node())
            node.final = True
            count += 1
    if not count:
        raise ValueError("no phrase survived: the grammar would be empty")

    fsg = _Fsg()
    start, final = fsg.new(), fsg.new()
    ids: dict[int, int] = {}
    root = _minimise(trie, {})
    _emit_dawg(root, start, final, fsg, rules, ids, {})
    start, final, transitions = reduce_states(start, final, fsg.weighted(final))
    used = {t[3] for t in transitions if len(t) == 4}  # the dictionary needs no word of a dropped path
    return Grammar(start, final, transitions, used, count, dropped)


def order_rule(order_id_max: int) -> str:
    """Order numbers: digit by digit only up to order_id_max, with no leading zero; as a number
    ("order twelve"), any.

    A shop numbers its orders 1, 2, 3 ... (services/orders), so a number above the last one
    does not exist. Digit by digit is how order numbers are read out, and where the
    recogniser erred most: a digit inserted into a five-digit number (dev set, clean: 8 of the
    17 order-number misses were longer than any order). Bounded, the search cannot take that
    path, and a number as long as the longest order is a closed phrase (nothing may follow).
    """
    bound = str(order_id_max)
    forms = ["<number>"]
    if len(bound) > 2:  # every number of 2 .. len-1 digits: "<nonzero> <digit> [<digit> [...]]"
        tail = ""
        for _ in range(len(bound) - 3):
            tail = f" [<digit>{tail}]"
        forms.append(f"<nonzero> <digit>{tail}")
    if len(bound) > 1:
        forms.append(_digits_up_to(bound, first=True))
    return " | ".join(f"({form})" for form in forms)


def _digits_up_to(bound: str, first: bool) -> str:
    """JSGF for the digit strings as long as `bound` and not above it (no leading zero when first)."""
    head, rest = int(bound[0]), bound[1:]
    lowest = 1 if first else 0
    branches = []
    if head > lowest:  # a smaller leading digit: anything after it
        smaller = " | ".join(UNITS[lowest:head])
        branches.append(" ".join([f"({smaller})", *["<digit>"] * len(rest)]))
    branches.append(f"{UNITS[head]} {_digits_up_to(rest, first=False)}" if rest else UNITS[head])
    return "(" + " | ".join(f"({b})" for b in branches) + ")"


def _words_of(expr: str) -> list[str]:
    return [t for t in re.findall(r"[^\s\[\]()|]+", expr) if not t.startswith("<")]


class _Node:
    """A prefix-tree node; after minimisation, a state shared by every phrase with the same rest."""

    __slots__ = ("children", "final")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.final = False


def _minimise(node: _Node, register: dict[tuple, _Node]) -> _Node:
    """Merge nodes with identical futures (bottom-up, by signature)."""
    node.children = {tok: _minimise(child, register) for tok, child in node.children.items()}
    signature = (node.final, tuple(sorted((tok, id(child)) for tok, child in node.children.items())))
    return register.setdefault(signature, node)


class _Fsg:
    def __init__(self) -> None:
        self.count = 0
        self.transitions: list[tuple[int, int, float, str | None]] = []

    def new(self) -> int:
        self.count += 1
        return self.count - 1

    def add(self, a: int, b: int, word: str | None = None) -> None:
        self.transitions.append((a, b, 1.0, word))

    def weighted(self, final: int) -> list[Transition]:
        """Epsilon-free transitions, all of probability 1: no phrase is favoured over another.

        pocketsphinx follows one empty transition at a time (its own JSGF compiler
        computes the closure first; create_fsg does not), and phrases ending in an
        empty hop to the final state were cut short ("waiting to" for "waiting to
        ship"). So empty transitions are removed: a state gets the word transitions
        of every state it reaches through empty ones, and a word that can end a
        phrase also leads straight to the final state.
        """
        empty: dict[int, list[int]] = {}
        words: dict[int, list[tuple[int, str]]] = {}
        for a, b, _, w in self.transitions:
            if w:
                words.setdefault(a, []).append((b, w))
            else:
                empty.setdefault(a, []).append(b)
        closures = {state: _reachable(state, empty) for state in range(self.count)}
        out: set[tuple[int, int, str | None]] = set()
        for state in range(self.count):
            for r in closures[state]:
                for b, w in words.get(r, ()):
                    out.add((state, b, w))
                    if final in closures[b] and b != final:
                        out.add((state, final, w))  # the phrase may end with this word: go straight to final
        return [(a, b, 1.0, w) if w else (a, b, 1.0) for a, b, w in sorted(out, key=lambda t: (t[0], t[1], t[2] or ""))]


def reduce_states(start: int, final: int, transitions: list[Transition]) -> tuple[int, int, list[Transition]]:
    """The same language in fewer states: states that cannot take part in a phrase are dropped, and
    states with the same futures (forward), then those with the same pasts (backward), are merged.

    Why it matters: pocketsphinx's FSG search visits every state of the grammar in every 10 ms
    frame (fsg_history_end_frame: states x phones), active or not, and that loop was 44% of a
    decoding process's CPU under the voice bench. Each product slot gets its own copy of the SKU
    and name class per continuation (43 of them when this was added), so the state count grew with
    the shop: 5,219 states at 15 products, 9,476 at 1,005. Reduced: 3,876 and 3,915; decoding CPU
    per second of audio 0.11 -> 0.079 and 0.19 -> 0.089 (same hypotheses on 38 and 37 of 40 dev
    clips, as many exact). The minimised prefix tree already merges shared suffixes within the phrases; this
    also merges across the slot copies and the epsilon-free closure, which that step cannot see.
    """
    edges = [(t[0], t[1], t[3]) for t in transitions if len(t) == 4]
    if len(edges) != len(transitions):
        raise ValueError("reduce_states takes epsilon-free transitions")
    edges = _live(start, final, edges)
    # A pass each way. Each merge keeps the language, so more passes could only merge more: on the
    # grammars of 15 to 10,005 products a third pass merged nothing, and each pass is half the build.
    for backward in (False, True):
        block = _bisimilar(start if backward else final, edges, backward)
        edges = sorted({(block[a], block[b], w) for a, b, w in edges})
        start, final = block[start], block[final]
    # dense numbers from 0: pocketsphinx sizes its per-frame tables by the highest state number
    ids: dict[int, int] = {start: 0}
    for a, b, _ in edges:
        ids.setdefault(a, len(ids))
        ids.setdefault(b, len(ids))
    ids.setdefault(final, len(ids))
    return ids[start], ids[final], [(ids[a], ids[b], 1.0, w) for a, b, w in edges]


def _live(start: int, final: int, edges: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The edges on some path from start to final."""

    forward: dict[int, list[int]] = {}
    backward: dict[int, list[int]] = {}
    for a, b, _ in edges:
        forward.setdefault(a, []).append(b)
        backward.setdefault(b, []).append(a)
    keep = _reachable(start, forward) & _reachable(final, backward)
    return [e for e in edges if e[0] in keep and e[1] in keep]


def _reachable(origin: int, successors: dict[int, list[int]]) -> set[int]:
    """The states reachable from `origin` (itself included) by the successor lists."""
    seen, stack = {origin}, [origin]
    while stack:
        for state in successors.get(stack.pop(), ()):
            if state not in seen:
                seen.add(state)
                stack.append(state)
    return seen


def _bisimilar(marked: int, edges: list[tuple[int, int, str]], backward: bool) -> dict[int, int]:
    """Each state's block: states are together when both are or are not `marked` (the final state
    forward, the start backward) and they have the same (word, block) moves out of them (forward)
    or into them (backward). Partition refinement to the fixed point."""
    moves: dict[int, list[tuple[str, int]]] = {}
    for a, b, w in edges:
        if backward:
            a, b = b, a
        moves.setdefault(a, []).append((w, b))
        moves.setdefault(b, [])
    moves.setdefault(marked, [])
    block = {s: int(s == marked) for s in moves}
    count = len(set(block.values()))
    while True:
        signatures: dict[tuple[int, frozenset[tuple[str, int]]], int] = {}
        refined = {
            s: signatures.setdefault((block[s], frozenset((w, block[b]) for w, b in out)), len(signatures))
            for s, out in moves.items()
        }
        if len(signatures) == count:
            return refined
        block, count = refined, len(signatures)


def _emit_dawg(
    node: _Node,
    state: int,
    final: int,
    fsg: _Fsg,
    rules: dict[str, str],
    ids: dict[int, int],
    hubs: dict[tuple[str, int], int],
) -> None:
    ids[id(node)] = state
    if node.final:
        fsg.add(state, final)
    for tok, child in node.children.items():
        seen = id(child) in ids
        target = ids[id(child)] if seen else fsg.new()
        if tok.startswith("{"):
            # One copy of the slot's rule per (slot, continuation), entered by an empty hop
            # from every state that reaches it: "set ... to {price}" and "change ... to
            # {price}" share the number automaton instead of each having its own. Same
            # language; the search keeps one hypothesis there instead of one per copy.
            hub = hubs.get((tok, target))
            if hub is None:
                hub = hubs[(tok, target)] = fsg.new()
                _emit_expr(f"<{tok[1:-1]}>", hub, target, fsg, rules)
            fsg.add(state, hub)
        else:
            fsg.add(state, target, tok)
        if not seen:
            _emit_dawg(child, target, final, fsg, rules, ids, hubs)


def _emit_expr(expr: str, start: int, end: int, fsg: _Fsg, rules: dict[str, str]) -> None:
    """Thompson construction of a JSGF rule expression between two states."""
    tokens = re.findall(r"<[^>]+>\+?|\[|\]|\(|\)|\||[^\s\[\]()|]+", expr)
    pos = _emit_alternatives(tokens, 0, start, end, fsg, rules)
    if pos != len(tokens):
        raise ValueError(f"unbalanced rule expression: {expr!r}")


def _emit_alternatives(tokens: list[str], i: int, start: int, end: int, fsg: _Fsg, rules: dict[str, str]) -> int:
    while True:
        i = _emit_sequence(tokens, i, start, end, fsg, rules)
        if i < len(tokens) and tokens[i] == "|":
            i += 1
            continue
        return i


def _emit_sequence(tokens: list[str], i: int, start: int, end: int, fsg: _Fsg, rules: dict[str, str]) -> int:
    items: list[tuple[str, list[str]]] = []
    while i < len(tokens) and tokens[i] not in ("|", ")", "]"):
        tok = tokens[i]
        if tok in ("(", "["):
            depth, j = 1, i + 1
            while depth:
                depth += tokens[j] in ("(", "[")
                depth -= tokens[j] in (")", "]")
                j += 1
            items.append((tok, tokens[i + 1 : j - 1]))
            i = j
        else:
            items.append(("word", [tok]))
            i += 1
    if not items:
        fsg.add(start, end)
        return i
    here = start
    for n, (kind, body) in enumerate(items):
        there = end if n == len(items) - 1 else fsg.new()
        if kind in ("(", "["):
            inner = " ".join(body)
            _emit_expr(inner, here, there, fsg, rules)
            if kind == "[":
                fsg.add(here, there)
        elif body[0].startswith("<"):
            name = body[0].strip("<>+")
            if body[0].endswith("+"):
                # one or more: a -> rule -> b, back from b to a, and out from b
                a, b = fsg.new(), fsg.new()
                fsg.add(here, a)
                _emit_expr(rules[name], a, b, fsg, rules)
                fsg.add(b, a)
                fsg.add(b, there)
            else:
                _emit_expr(rules[name], here, there, fsg, rules)
        else:
            fsg.add(here, there, body[0])
        here = there
    return i
