"""The command grammar: what it accepts is what the recogniser can say."""

from __future__ import annotations

from collections import defaultdict

from services.asr import grammar, phrases, testset
from services.asr.engines.sphinx import DICT
from services.asr.numbers import say_amount, say_number, say_sku
from services.asr.vocabulary import DEMO_VOCABULARY, Vocabulary


def accepts(g: grammar.Grammar, sentence: str) -> bool:
    """Walk the grammar's transitions word by word (they are epsilon-free but for the hop to final)."""
    out: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for t in g.transitions:
        out[t[0]].append((t[1], t[3] if len(t) == 4 else None))  # type: ignore[misc]
    states = {g.start}
    for word in sentence.split():
        states = {b for s in states for b, w in out[s] if w == word}
    return g.final in states


def demo_grammar(vocabulary: Vocabulary = DEMO_VOCABULARY) -> grammar.Grammar:
    return grammar.build(phrases.phrases_for(vocabulary, "en-US", use_nlu=False), vocabulary, DICT)


def test_numbers_and_skus_are_spoken_as_merchants_say_them() -> None:
    assert say_number(99) == "ninety nine"
    assert say_number(1250) == "one thousand two hundred fifty"
    assert say_sku("A100") == "a one hundred"
    assert say_sku("C7") == "c seven"
    assert say_amount("99.90") == "ninety nine point nine"
    assert phrases.verbalize("set the price of A100 to 99") == "set the price of a one hundred to ninety nine"


def test_every_command_of_the_spoken_test_set_is_in_the_grammar() -> None:
    g = demo_grammar()
    missing = [c for c in testset.commands(300) if not accepts(g, c)]
    assert missing == []


def test_the_grammar_rejects_what_no_merchant_command_says() -> None:
    g = demo_grammar()
    assert not accepts(g, "set the price of z nine to ten")  # not a SKU of this shop
    assert not accepts(g, "what is the weather like")
    assert not accepts(g, "set the price of a one hundred")  # incomplete


def test_catalog_vocabulary_enters_the_grammar_and_unknown_words_are_reported() -> None:
    shop = Vocabulary(products=(("Z9", "green hat"), ("Q12", "zorblax widget")))
    g = demo_grammar(shop)
    assert accepts(g, "show product z nine")
    assert accepts(g, "set the price of the green hat to twelve dollars")
    assert not accepts(g, "show product a one hundred")  # not this shop's
    assert any("zorblax" in d for d in g.dropped)  # no pronunciation: dropped, and said so


def test_phrase_templates_expand_options_and_choices() -> None:
    assert sorted(" ".join(t) for t in phrases.expand("(ship | send) [the] order")) == [
        "send order",
        "send the order",
        "ship order",
        "ship the order",
    ]


def test_nlu_phrasings_take_any_value_where_the_nlu_has_a_slot() -> None:
    """The NLU's sentences come with {slot} markers, not its sample values: any order number
    or price fits, not only "one two three four" or "ninety nine dollars"."""
    g = grammar.build(phrases.phrases_for(DEMO_VOCABULARY, "en-US", use_nlu=True), DEMO_VOCABULARY, DICT)
    assert accepts(g, "mark order five six seven confirmed")  # a phrasing only the NLU's sentences have
    assert accepts(g, "give order eight zero zero two nine a refund of four hundred sixty three dollars")
    assert not accepts(g, "mark order confirmed")


def test_slot_rules_are_shared_by_phrases_with_the_same_continuation() -> None:
    """One copy of {price} serves every "... to {price}" phrase: far fewer transitions than a copy each."""
    one = grammar.build(["set the price of {sku} to {price}"], DEMO_VOCABULARY, DICT)
    two = grammar.build(
        ["set the price of {sku} to {price}", "change the price of {sku} to {price}"], DEMO_VOCABULARY, DICT
    )
    assert accepts(two, "change the price of c seven to four hundred sixty three dollars")
    assert len(two.transitions) < 1.2 * len(one.transitions)
