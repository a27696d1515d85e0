"""The ASR at catalog scale (issue 30): a turn's grammar does not grow with the catalog, SKUs are
heard by their pattern, product names are a bounded class, and what the grammar leaves out the NLU
still finds in the whole catalog."""

from __future__ import annotations

import functools
from pathlib import Path

from services.asr import grammar, phrases, testset
from services.asr.engines import sphinx
from services.asr.engines.sphinx import DICT
from services.asr.numbers import say_sku
from services.asr.vocabulary import DEMO_VOCABULARY, Vocabulary
from shopvoice.grammar.commands import command_to_json
from shopvoice.grammar.parser import parse
from tests.asr.support import decoding_options
from tests.asr.test_grammar import accepts
from tests.support.synthetic_catalog import products


@functools.cache
def shop(size: int) -> Vocabulary:
    return Vocabulary(products=tuple(products(size)))


@functools.cache
def built(size: int) -> grammar.Grammar:
    vocabulary = shop(size)
    return grammar.build(phrases.phrases_for(vocabulary, "en-US", use_nlu=True), vocabulary, DICT)


def test_the_grammar_hears_a_bounded_part_of_any_catalog() -> None:
    for size in (10, 1_000, 10_000):
        heard = grammar.heard_vocabulary(shop(size))
        # the name class, and per prefix (30 product lines here) a few SKUs: its shapes, and enough to
        # tell a prefix said by pattern from one whose SKUs are listed
        assert len(heard.products) <= grammar.NAMES + 30 * (grammar.LISTED_PER_PREFIX + 1 + 3), size
        assert sum(1 for _, title in heard.products if title) == min(size, grammar.NAMES)


def test_the_grammar_of_the_heard_part_is_the_catalogs_grammar() -> None:
    """So a catalog change outside the heard part needs no rebuild (SphinxEngine.set_vocabulary)."""
    full = built(10_000)
    heard = grammar.heard_vocabulary(shop(10_000))
    small = grammar.build(phrases.phrases_for(heard, "en-US", use_nlu=True), heard, DICT)
    assert small.transitions == full.transitions


def test_only_a_change_to_what_the_grammar_hears_builds_a_new_one() -> None:
    """SphinxEngine.set_vocabulary builds a grammar when the heard part changes; an old product renamed
    or removed leaves it equal, a new product does not."""
    catalog = products(1_000)
    heard = grammar.heard_vocabulary(shop(1_000))
    sku, _ = catalog[900]  # an old product, of a prefix heard by pattern
    renamed = [(s, "plain cotton towel" if s == sku else t) for s, t in catalog]
    assert grammar.heard_vocabulary(Vocabulary(products=tuple(renamed))) == heard
    without = [(s, t) for s, t in catalog if s != sku]
    assert grammar.heard_vocabulary(Vocabulary(products=tuple(without))) == heard
    added = [("TS4200", "slim red shirt"), *catalog]  # the newest: its title enters the name class
    assert grammar.heard_vocabulary(Vocabulary(products=tuple(added))) != heard


def test_the_grammars_size_does_not_follow_the_catalogs() -> None:
    """With every SKU and title listed, 1,000 products made 747,662 transitions (10 s to build); by
    pattern and a bounded name class, 10,000 products make about as many as 1,000 (the SKU numbers
    of the larger shop run past a thousand: one more number rule), and 10 products not much fewer."""
    small, medium, large = (len(built(n).transitions) for n in (10, 1_000, 10_000))
    assert large < 1.25 * medium, (medium, large)
    assert large < 80_000
    assert small < medium


def test_skus_are_heard_by_pattern_and_names_from_the_newest_products() -> None:
    catalog = products(10_000)
    g = built(10_000)
    newest_sku, newest_title = catalog[0]
    oldest_sku, oldest_title = catalog[-1]
    assert accepts(g, f"show product {say_sku(oldest_sku)}")  # far outside the name class: by pattern
    assert accepts(g, f"show product {say_sku(newest_sku)}")
    assert accepts(g, "show product t s four thousand two hundred")  # a SKU the shop may add tomorrow
    assert not accepts(g, "show product q q one hundred")  # letters no SKU of the shop starts with
    assert not accepts(g, "show product t s fifty")  # a size no TS SKU has (TS100 ... TS2000 and more)
    assert accepts(g, f"is the {newest_title} in stock")
    assert not accepts(g, f"is the {oldest_title} in stock")  # left to the open-vocabulary engine


def test_a_prefix_hears_only_the_number_sizes_its_skus_have() -> None:
    """With any number after any prefix, the demo's "e fifteen" came back as "b t fifty" in a shop of
    1,000 (its BT SKUs run from BT100 up): a prefix now hears the sizes its own SKUs have."""
    bt = [f"BT{n}" for n in (120, 300, 451, 777, 1043)]  # more than LISTED_PER_PREFIX: by pattern
    km = [f"KM{n}" for n in (7, 8, 9, 10, 11)]
    shop = Vocabulary(products=DEMO_VOCABULARY.products + tuple((sku, "") for sku in bt + km))
    g = grammar.build(["show product {sku}"], shop, DICT)
    assert accepts(g, "show product e fifteen")
    assert accepts(g, "show product b t one hundred twenty")
    assert accepts(g, "show product b t one thousand forty three")
    assert accepts(g, "show product b t nine hundred")  # a size BT has: a SKU the shop may add
    assert not accepts(g, "show product b t fifty")
    assert not accepts(g, "show product b t five")
    assert accepts(g, "show product k m eleven") and accepts(g, "show product k m seven")
    assert not accepts(g, "show product k m one hundred")


def test_the_nlu_finds_what_the_grammar_does_not_list_in_the_whole_catalog() -> None:
    catalog = products(10_000)
    sku, title = catalog[5_000]
    assert title not in {t for _, t in grammar.name_class(shop(10_000))}
    for text in (
        f"set the price of {say_sku(sku)} to twelve dollars",
        f"set the price of the {title} to twelve dollars",
    ):
        assert command_to_json(parse(text, catalog).command) == {
            "intent": "set_price",
            "slots": {"sku": sku, "price": "12.00"},
        }, text


def test_a_sku_outside_the_name_class_is_recognised_from_speech(tmp_path: Path) -> None:
    catalog = products(10_000)
    sku = catalog[-1][0]  # the oldest product: not among the grammar's names
    assert sku not in {s for s, _ in grammar.name_class(shop(10_000))}
    said = f"set the price of {say_sku(sku)} to twenty five dollars"
    host = sphinx.DecoderHost(decoding_options(vocabulary=grammar.heard_vocabulary(shop(10_000))))
    host.start(1, sphinx.GRAMMAR_MODEL, 0)
    try:
        host.feed(1, testset.speak(said, "en-us", 160, 50, tmp_path).tobytes(), False)
        transcript = host.end(1, b"", None)
    finally:
        host.close(1)
    assert transcript is not None
    assert transcript.text == said, (transcript.text, transcript.score_gap)
