"""What merchants say: command phrases, and the interface they come through.

The recogniser only has to choose among phrases it knows (the approach of
Home Assistant's speech-to-phrase), so the phrases are the model. They come from
a `PhraseSource`: the command grammar's sentence templates (`shopvoice.grammar`,
the library package the NLU parses with, so the ASR listens for what the NLU
understands), plus the built-in English set below, which covers every intent of
docs/design.md. A phrase is words, optional parts in [brackets], choices in
(a | b), and slots in {braces} that the grammar fills from the catalog vocabulary
and number rules (see grammar.SLOT_RULES). Digits and SKUs written as such
("A100", "99") are turned into words by `verbalize`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator

from services.asr.numbers import say_amount, say_sku
from services.asr.vocabulary import Vocabulary
from shopvoice import log
from shopvoice.grammar import expand_sentences

# (sku, title) pairs and a language ("en") to sentences; the NLU's expand_sentences has this shape.
PhraseSource = Callable[[Iterable[tuple[str, str]], str], Iterable[str]]

_S = "[product] {sku}"  # a product, named by SKU or title

BUILTIN_EN: tuple[str, ...] = (
    # set_price / adjust_price
    f"set the price of {_S} to {{price}}",
    f"change the price of {_S} to {{price}}",
    f"set {_S} price to {{price}}",
    f"(lower | reduce | raise | increase) [the price of] {_S} by {{price}}",
    f"(lower | reduce | raise | increase) [the price of] {_S} by {{percent}}",
    f"{{percent}} off {_S}",
    # set_stock / adjust_stock / query_stock
    f"set [the] stock of {_S} to {{quantity}}",
    f"set {_S} stock to {{quantity}}",
    f"(add | remove) {{quantity}} (units | pieces) (of | to | from) {_S}",
    f"restock {_S} with {{quantity}} units",
    f"how many {_S} are [there] in stock",
    f"how many units of {_S} are [there] in stock",
    f"how much stock (does | do) [we have of] {_S} [have]",
    f"is {_S} in stock",
    # query_product / set_product_status
    "(show | show me | look up) [product] {sku}",
    "(list | unlist | archive) [product] {sku}",
    # orders
    "(confirm | cancel | refund) order {order}",
    "ship order {order}",
    "ship order {order} (via | with) {carrier}",
    "ship order {order} (via | with) {carrier} tracking [number] {tracking}",
    "refund {price} on order {order}",
    "what's the status of order {order}",
    "where is [my] order {order}",
    "how many orders are (waiting to ship | pending | unfulfilled | shipped | refunded | cancelled)",
    "how many orders (today | yesterday | this week | this month | last month)",
    "show {status} orders",
    # sales_report
    "what are (today's | yesterday's) sales",
    "what (are | were) [the] sales {period}",
    "(what's | what is) [the] revenue {period}",
    "[what are the] top products {period}",
    f"how many {_S} (sold | did we sell) {{period}}",
    "what's the average rating {period}",
    # dialogue
    "undo [that | the last change]",
    "yes",
    "yes confirm",
    "confirm",
    "(no | no never mind | never mind | cancel that)",
    # the answer to the dialogue's "For which period?" (a bare "[order] {order}" for "Which order?"
    # cost 14 points at 20 dB on the development set: noise heard as digits)
    "[for] {period}",
)

BUILTIN: dict[str, tuple[str, ...]] = {"en-US": BUILTIN_EN}

_DIGITS = re.compile(r"^\d+(\.\d+)?$")
_SKU = re.compile(r"^[A-Za-z]+\d+$")


def builtin_phrases(vocabulary: object, language: str) -> Iterator[str]:
    """The built-in phrase set; slots are filled later by the grammar, so vocabulary is unused here."""
    del vocabulary
    yield from BUILTIN.get(language, ())


# The NLU's slot kinds that our grammar has rules for (grammar.SLOT_RULES, and {sku}
# for the catalog's SKUs and titles): the NLU writes these as {slot} markers, not as
# its sample values. With samples, "set A100 to ninety nine dollars" was a phrase of
# its own, and a merchant's "four hundred sixty three" competed with a handful of
# fixed prices (the dev set's "nineteen" for "ninety nine", fixed order numbers).
# How many of each NLU template's variants enter the grammar: its first ("ship it"; not
# "send it"). Every variant (up to the NLU's 40) made the grammar 3x larger, the search
# 2-4x slower (RTF 0.12-0.24 per stream, over the 0.1 budget) and less accurate on the
# development set (20 dB: 79% vs 82% command accuracy with 3 variants, 1 variant, same settings).
NLU_VARIANTS_PER_TEMPLATE = 1
NLU_PLACEHOLDERS = {
    "money": "{price}",
    "quantity": "{quantity}",
    "percent": "{percent}",
    "order_id": "{order}",
    "tracking": "{tracking}",
    "sku": "{sku}",
    "code": "{sku}",
    "title": "{sku}",
    # A product fact's value is free text ("cotton", "two years", "machine wash cold"): the grammar has
    # no rule for it, so these phrases are dropped (reported). Filled with the one sample value each,
    # they could hear nothing but that sample, and each was another copy of the product slot: 14
    # phrases, a third of the grammar's states. Spoken facts go to the open-vocabulary engine.
    "value": "{value}",
    # A product named alone before an amount ("backpack one sixty") is a typed shorthand; spoken,
    # a product then a bare number has no audible border ("c seven twenty"): no grammar rule, dropped.
    "terse": "{terse}",
}


def nlu_phrase_source() -> PhraseSource:
    """The grammar's templates, with our slot markers in place of sample values."""
    return functools.partial(expand_sentences, placeholders=NLU_PLACEHOLDERS, per_template=NLU_VARIANTS_PER_TEMPLATE)


# Number slots: said as number words, so two of them side by side have no audible border.
_NUMBER_SLOTS = ("{order}", "{price}", "{quantity}", "{percent}")
_TOUCHING_ORDER = re.compile(r"\{order\} (" + "|".join(re.escape(slot) for slot in _NUMBER_SLOTS) + ")")


def hearable(phrase: str) -> bool:
    """Whether a phrase of the NLU's belongs in the grammar. Two kinds do not:
    - an order number followed at once by another number ("refund order {order} {price}"): its digits
      and the next number's first word have no border, so the grammar takes an order number's last
      digit as the amount (RP's long "zero" heard as "zero two": a refund of 2), while the NLU reads
      the same words as one longer order number;
    - an order number alone ("order {order}", which the NLU takes for a status query): noise heard as
      digits (the built-in set left it out for that: 14 points at 20 dB on the development seed) or
      another command heard as it (en-029's "unlist b two hundred" as "order three two four two three")
      would answer a question nobody asked instead of what was said.
    On the development seeds the two together moved command accuracy by less than the runs' noise
    (seed 7: 89.5 / 91.0-91.5 / 82.5-84.0% -> 89.5 / 93.0 / 83.5%; seed 5: 89.5 / 90.0 / 80.5% -> 89.0
    / 89.5 / 80.5%, clean / 20 / 10 dB): they are here because the words mean one thing to both."""
    return phrase.strip() != "order {order}" and not _TOUCHING_ORDER.search(phrase)


def phrases_for(vocabulary: Vocabulary, language: str, use_nlu: bool = True) -> list[str]:
    """Every phrase of the language: the built-in set, plus the grammar's sentences (the ones the NLU
    parses with) when they expand (those it can hear: see `hearable`)."""
    source = nlu_phrase_source() if use_nlu else None
    if source is not None:
        try:
            nlu_language = language.split("-", 1)[0]  # the grammar's sentence folders are "en", "zh"
            phrases = [p for p in map(verbalize, source(vocabulary.products, nlu_language)) if hearable(p)]
            if phrases:
                return [*phrases, *builtin_phrases(vocabulary, language)]
        except Exception:
            log.get().warning("NLU phrase source failed; using the built-in phrases", language=language, exc_info=True)
    return list(builtin_phrases(vocabulary, language))


def verbalize(text: str) -> str:
    """Written forms to spoken words: "set A100 to 99" -> "set a one hundred to ninety nine"."""
    words = []
    for token in text.replace(",", " ").replace("?", " ").replace("!", " ").split():
        bare = token.strip(".")
        if _DIGITS.match(bare):
            words.append(say_amount(bare))
        elif _SKU.match(bare):
            words.append(say_sku(bare))
        else:
            words.append(token.lower() if not token.startswith("{") else token)
    return " ".join(words)


def expand(template: str) -> Iterator[list[str]]:
    """Every token sequence a template allows: optional [parts] and (a | b) choices multiplied out."""
    tokens = re.findall(r"\[|\]|\(|\)|\||[^\s\[\]()|]+", template)
    alternatives, end = _parse_sequence(tokens, 0)
    if end != len(tokens):
        raise ValueError(f"unbalanced template: {template!r}")
    yield from alternatives


def _parse_sequence(tokens: list[str], i: int) -> tuple[list[list[str]], int]:
    """Parse until `)`, `]` or the end; `|` separates choices. Returns every expansion."""
    choices: list[list[list[str]]] = []
    current: list[list[str]] = [[]]
    while i < len(tokens):
        tok = tokens[i]
        if tok in (")", "]"):
            break
        if tok == "|":
            choices.append(current)
            current = [[]]
            i += 1
            continue
        if tok in ("(", "["):
            inner, i = _parse_sequence(tokens, i + 1)
            closing = ")" if tok == "(" else "]"
            if i >= len(tokens) or tokens[i] != closing:
                raise ValueError(f"expected {closing!r} in template")
            i += 1
            if tok == "[":
                inner = [*inner, []]
            current = [prefix + suffix for prefix in current for suffix in inner]
            continue
        current = [[*prefix, tok] for prefix in current]
        i += 1
    choices.append(current)
    return [seq for choice in choices for seq in choice], i
