"""Whole phrases of the grammar: the words after which a short pause may end an utterance."""

from __future__ import annotations

import pytest

from services.asr import grammar, phrases
from services.asr.engines.sphinx import DICT
from services.asr.phrase_end import PhraseEnds
from services.asr.vocabulary import DEMO_VOCABULARY


@pytest.fixture(scope="module")
def ends() -> PhraseEnds:
    built = grammar.build(phrases.phrases_for(DEMO_VOCABULARY, "en-US", use_nlu=False), DEMO_VOCABULARY, DICT)
    return PhraseEnds(built)


@pytest.mark.parametrize(
    "text",
    [
        "undo that",
        "how many orders are waiting to ship",
        "set the price of product a one hundred to fifty",
        "set the price of product a one hundred to fifty dollars",  # an optional word after a whole phrase
        "ship order one two three four via s f",
    ],
)
def test_whole_phrases_are_complete(ends: PhraseEnds, text: str) -> None:
    assert ends.is_complete(text.split())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "set the price of product a one hundred to",  # the price is still to come
        "how many orders",
        "ship order",
        "undo that please",  # a word the grammar does not allow there
        "set the price of product z nine to fifty",  # not a product of this catalog
    ],
)
def test_prefixes_and_strays_are_not(ends: PhraseEnds, text: str) -> None:
    assert not ends.is_complete(text.split())
