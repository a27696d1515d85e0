"""A shop whose own titles are Chinese can still name its products aloud in English."""

from __future__ import annotations

from pathlib import Path

from services.asr import grammar
from services.asr.engines.sphinx import DICT, open_vocabulary_prompt
from services.asr.phrases import phrases_for
from services.asr.vocabulary import Vocabulary, products_of
from shopvoice.catalog.v1 import catalog_pb2


def entries() -> list[catalog_pb2.VocabularyEntry]:
    return [
        catalog_pb2.VocabularyEntry(sku="N20", title="蓝牙耳机", title_en="Bluetooth Earbuds"),
        catalog_pb2.VocabularyEntry(sku="J5", title="帆布托特包", title_en="Canvas Tote"),
        catalog_pb2.VocabularyEntry(sku="K12", title="yoga block"),  # one title, English already
        catalog_pb2.VocabularyEntry(sku="Z9", title="陶瓷杯"),  # no English title
    ]


def test_each_product_brings_its_english_title_first_and_its_own() -> None:
    assert products_of(entries()) == (
        ("N20", "bluetooth earbuds"),
        ("N20", "蓝牙耳机"),
        ("J5", "canvas tote"),
        ("J5", "帆布托特包"),
        ("K12", "yoga block"),
        ("Z9", "陶瓷杯"),
    )


def test_the_name_class_counts_products_not_titles() -> None:
    vocabulary = Vocabulary(products=products_of(entries()))
    assert {sku for sku, _ in grammar.name_class(vocabulary, names=2)} == {"N20", "J5"}
    assert len(grammar.name_class(vocabulary, names=2)) == 4


def test_the_english_grammar_hears_the_english_names() -> None:
    vocabulary = Vocabulary(products=products_of(entries()))
    built = grammar.build(phrases_for(vocabulary, "en-US", use_nlu=False), vocabulary, DICT)
    assert {"earbuds", "canvas", "tote"} <= built.words


def test_whisper_is_primed_with_english_titles_only() -> None:
    prompt = open_vocabulary_prompt(Vocabulary(products=products_of(entries())))
    assert "bluetooth earbuds (N20)" in prompt and "canvas tote (J5)" in prompt
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in prompt), prompt


def test_a_compound_the_dictionary_lacks_is_said_as_its_two_words(tmp_path: Path) -> None:
    assert grammar.compound("earbuds", DICT) == "IY R B AH D Z"  # ear + buds
    assert grammar.compound("xyzzy", DICT) is None
    vocabulary = Vocabulary(products=(("N20", "bluetooth earbuds"),))
    built = grammar.build(phrases_for(vocabulary, "en-US", use_nlu=False), vocabulary, DICT)
    written = grammar.write_dictionary(DICT, built.words, tmp_path / "g.dict").read_text().splitlines()
    assert "earbuds IY R B AH D Z" in written
