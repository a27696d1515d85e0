"""The spoken set's expected commands: written by the generator, checked against the NLU as typed.

If the NLU cannot read a command's own words, the spoken test would blame the ASR for it;
this catches a generator or NLU change that breaks the pairing, without any audio.
"""

from __future__ import annotations

import pytest

from services.asr import testset
from shopvoice.grammar.commands import command_to_json
from shopvoice.grammar.parser import parse

PRODUCTS = list(zip(testset.SKUS, testset.TITLES, strict=True))


@pytest.mark.parametrize("seed", [7, 11])
def test_every_spoken_command_means_its_typed_command_when_typed(seed: int) -> None:
    wrong = [
        (c.text, c.as_json(), got)
        for c in testset.typed_commands(200, seed)
        if (got := command_to_json(parse(c.text, PRODUCTS).command)) != c.as_json()
    ]
    assert wrong == []


def test_expected_commands_use_the_contract_forms() -> None:
    typed = testset.typed_commands(64, 7)
    price = next(c for c in typed if c.intent == "set_price")
    assert isinstance(price.slots["price"], str) and price.slots["price"].endswith(".00")
    lowered = next(c for c in typed if c.text.startswith("lower"))
    assert lowered.slots["delta"].startswith("-")  # type: ignore[union-attr]
    assert testset.commands(64, 7) == [c.text for c in typed]


def test_every_voice_says_every_phrasing_once_in_eight_passes() -> None:
    passes = testset.PHRASINGS * len(testset.VOICES)
    said = {(testset.voice_of(i), i % testset.PHRASINGS) for i in range(passes)}
    assert len(said) == passes
