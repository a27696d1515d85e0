"""Whole phrases of the grammar, and whether the grammar lets them go on: how long a pause may end them."""

from __future__ import annotations

import pytest

from services.asr import grammar, phrases
from services.asr.engines.sphinx import DICT
from services.asr.phrase_end import PhraseEnds
from services.asr.vocabulary import DEMO_VOCABULARY

PRICE = "set the price of product a one hundred to"


@pytest.fixture(scope="module")
def ends() -> PhraseEnds:
    built = grammar.build(phrases.phrases_for(DEMO_VOCABULARY, "en-US", use_nlu=False), DEMO_VOCABULARY, DICT)
    return PhraseEnds(built)


@pytest.mark.parametrize(
    "text",
    [
        "undo that",
        "how many orders are waiting to ship",
        "what are today's sales",
        "show product a one hundred",
        f"{PRICE} fifty dollars",  # the currency word is the last the price rule allows
        f"{PRICE} ninety nine dollars",
    ],
)
def test_phrases_no_word_may_continue_are_closed(ends: PhraseEnds, text: str) -> None:
    assert ends.status(text.split()) == "closed"


@pytest.mark.parametrize(
    "text",
    [
        f"{PRICE} fifty",  # "dollars", "five", "point" ... may follow
        f"{PRICE} ninety",  # "nine" may follow: "ninety ... nine" must not end at "ninety" after a short pause
        f"{PRICE} ninety nine",  # "dollars" or "point" may follow
        "ship order one two three four",  # more digits, or "via"
        "ship order one two three four via s f",  # "tracking" may follow
    ],
)
def test_whole_phrases_the_grammar_lets_go_on_are_open(ends: PhraseEnds, text: str) -> None:
    assert ends.status(text.split()) == "open"


@pytest.mark.parametrize(
    "text",
    [
        "",
        PRICE,  # the price is still to come
        "how many orders",
        "ship order",
        "undo that please",  # a word the grammar does not allow there
        "set the price of product z nine to fifty",  # not a product of this catalog
    ],
)
def test_prefixes_and_strays_are_incomplete(ends: PhraseEnds, text: str) -> None:
    assert ends.status(text.split()) == "incomplete"
