"""The command grammar: what it accepts is what the recogniser can say."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

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


def test_nlu_phrases_it_cannot_hear_stay_out_of_the_grammar() -> None:
    """An order number with a number right after it has no border the ear can find (the NLU reads
    "refund order two one two six zero two" as order 212602; the grammar could end the order at
    "zero" and refund 2), and an order number alone is what noise and other commands get heard as."""
    source = phrases.nlu_phrase_source()
    assert source is not None
    nlu = [phrases.verbalize(p) for p in source(DEMO_VOCABULARY.products, "en")]
    assert "refund order {order} {price}" in nlu and "order {order}" in nlu  # the NLU has both
    g = grammar.build(phrases.phrases_for(DEMO_VOCABULARY, "en-US", use_nlu=True), DEMO_VOCABULARY, DICT)
    assert not accepts(g, "refund order two one two six zero two dollars")
    assert not accepts(g, "order three two four two three")
    # the same commands said with a border stay, and so do other phrases with an order number first
    assert accepts(g, "refund two dollars on order two one two six zero")
    assert accepts(g, "order three two four two three refund twenty dollars")
    assert accepts(g, "order three two four two three is shipped")


def test_slot_rules_are_shared_by_phrases_with_the_same_continuation() -> None:
    """One copy of {price} serves every "... to {price}" phrase: far fewer transitions than a copy each."""
    one = grammar.build(["set the price of {sku} to {price}"], DEMO_VOCABULARY, DICT)
    two = grammar.build(
        ["set the price of {sku} to {price}", "change the price of {sku} to {price}"], DEMO_VOCABULARY, DICT
    )
    assert accepts(two, "change the price of c seven to four hundred sixty three dollars")
    assert len(two.transitions) < 1.2 * len(one.transitions)


def test_order_numbers_are_bounded_by_the_shops_last_order() -> None:
    """Orders are numbered 1, 2, 3 ... per shop: with order_id_max known, a longer or larger number,
    or one with a leading zero, is not a path; every number up to it still is."""
    from services.asr.numbers import say_digits
    from services.asr.phrase_end import PhraseEnds

    unbounded = demo_grammar()
    for order_id_max in (42, 100, 4821, 101000):
        g = demo_grammar(Vocabulary(products=DEMO_VOCABULARY.products, order_id_max=order_id_max))
        top = len(str(order_id_max))
        said = [n for n in range(10, order_id_max + 1) if n < 200 or n % 997 == 0 or n > order_id_max - 50]
        heard = [n for n in said if accepts(g, f"ship order {say_digits(str(n))}")]
        assert heard == said, f"numbers up to {order_id_max} said digit by digit"
        assert accepts(g, f"ship order {say_number(order_id_max)}")  # said as a number
        for too_big in (order_id_max + 1, order_id_max * 10, int("9" * top)):
            if too_big > order_id_max:
                assert not accepts(g, f"ship order {say_digits(str(too_big))}"), too_big
                assert accepts(unbounded, f"ship order {say_digits(str(too_big))}")  # what the bound takes away
        assert not accepts(g, "ship order zero four two")  # no order number starts with zero
        # a number as long as the longest order ends the phrase: nothing may follow
        ends = PhraseEnds(g)
        assert ends.status(f"cancel order {say_digits(str(order_id_max))}".split()) == "closed"
        assert PhraseEnds(unbounded).status(f"cancel order {say_digits(str(order_id_max))}".split()) == "open"
        if top > 2:
            assert ends.status(["cancel", "order", "one", "zero"]) == "open"  # 10 may go on to 100


def test_variant_pronunciations_are_numbered_after_the_dictionarys_own(tmp_path: Path) -> None:
    lines = grammar.write_dictionary(DICT, {"nine", "list", "one"}, tmp_path / "g.dict").read_text().splitlines()
    assert "nine N AY N" in lines
    assert "nine(2) AY N" in lines
    assert "list(2) L IY S T" in lines
    assert [line for line in lines if line.split("(")[0].split()[0] == "one"] == ["one W AH N"]
    assert not any(line.startswith(("unlist", "percent")) for line in lines)  # only the grammar's words


def test_variant_pronunciations_are_of_dictionary_words_in_the_models_phones() -> None:
    with open(DICT, encoding="utf-8") as lines:
        phones = {phone for line in lines for phone in line.split()[1:]}
    for word, variants in grammar.VARIANT_PRONUNCIATIONS.items():
        assert word in grammar.dictionary_words(DICT)
        for variant in variants:
            assert set(variant.split()) <= phones, (word, variant)


def random_phrases(g: grammar.Grammar, count: int, seed: int) -> list[str]:
    """Phrases walked at random from start to final (a walk that gets stuck starts again)."""
    import random

    out: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for t in g.transitions:
        out[t[0]].append((t[1], t[3]))  # type: ignore[misc]
    rng = random.Random(seed)
    found = []
    while len(found) < count:
        state, words = g.start, []
        while len(words) < 40:
            if state == g.final and (not out[state] or rng.random() < 0.5):
                found.append(" ".join(words))
                break
            if not out[state]:
                break
            state, word = rng.choice(out[state])
            words.append(word)
    return found


def test_state_reduction_keeps_the_language_and_stops_the_catalog_growing_the_grammar() -> None:
    """reduce_states merges states with the same futures or pasts: pocketsphinx's search visits every
    state each frame, so fewer states is less CPU per stream. The phrases are the same both ways."""
    from tests.support.synthetic_catalog import products

    small = Vocabulary(products=DEMO_VOCABULARY.products + tuple(products(10)))
    large = Vocabulary(products=DEMO_VOCABULARY.products + tuple(products(1000)))
    reduced = grammar.build(phrases.phrases_for(large, "en-US", True), large, DICT)
    real_reduce = grammar.reduce_states
    try:
        grammar.reduce_states = lambda start, final, transitions: (start, final, transitions)  # type: ignore[assignment]
        unreduced = grammar.build(phrases.phrases_for(large, "en-US", True), large, DICT)
    finally:
        grammar.reduce_states = real_reduce

    def states(g: grammar.Grammar) -> int:
        return len({t[0] for t in g.transitions} | {t[1] for t in g.transitions})

    assert states(reduced) < 0.5 * states(unreduced)
    # numbered densely from 0: pocketsphinx sizes its tables by the highest number
    assert max(max(t[0], t[1]) for t in reduced.transitions) + 1 == states(reduced)
    # a thousand more products cost under a tenth more states (the SKU pattern and name class are bounded)
    small_states = states(grammar.build(phrases.phrases_for(small, "en-US", True), small, DICT))
    assert states(reduced) < 1.1 * small_states
    for phrase in random_phrases(unreduced, 400, seed=1):
        assert accepts(reduced, phrase), phrase
    for phrase in random_phrases(reduced, 400, seed=2):
        assert accepts(unreduced, phrase), phrase


def test_state_reduction_merges_equal_futures_and_equal_pasts() -> None:
    # "a x" | "b x" (two states before x: one future) and "c y" | "c z" ending apart (one past)
    transitions = [(0, 1, 1.0, "a"), (0, 2, 1.0, "b"), (1, 3, 1.0, "x"), (2, 4, 1.0, "x"), (3, 9, 1.0, "end")]
    transitions += [(4, 9, 1.0, "end"), (0, 5, 1.0, "c"), (5, 6, 1.0, "y"), (5, 7, 1.0, "z"), (6, 9, 1.0, "q")]
    transitions += [(7, 9, 1.0, "q"), (0, 8, 1.0, "dead")]  # 8 never reaches the final state
    start, final, reduced = grammar.reduce_states(0, 9, transitions)
    g = grammar.Grammar(start, final, reduced, set(), 0)
    for phrase in ("a x end", "b x end", "c y q", "c z q"):
        assert accepts(g, phrase)
    assert not accepts(g, "dead") and not accepts(g, "a y q")
    assert len({t[0] for t in reduced} | {t[1] for t in reduced}) == 6  # 0, {1, 2}, {3, 4}, 5, {6, 7}, 9
