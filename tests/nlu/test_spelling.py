"""Typos as merchants type them: the corrected text is taken only when it reads better."""

from __future__ import annotations

import pytest

from shopvoice.grammar import command_to_json, parse
from shopvoice.grammar.spelling import catalog_words, correct
from shopvoice.grammar.vocabulary import Vocabulary
from tests.nlu.test_resolution import demo_products


def _demo_vocabulary() -> Vocabulary:
    products = demo_products()
    return Vocabulary([(p.sku, p.title) for p in products], products)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # Swapped, dropped and doubled letters in English.
        ("cancle order 4471", {"intent": "cancel_order", "slots": {"order_id": "4471"}}),
        ("set the prcie of A101 to 75", {"intent": "set_price", "slots": {"sku": "A101", "price": "75.00"}}),
        ("dispatch ordr 5588 via DHL", {"intent": "ship_order", "slots": {"order_id": "5588", "carrier": "DHL"}}),
        ("refnud order 88", {"intent": "refund_order", "slots": {"order_id": "88"}}),
        ("set stcok of A100 to 5", {"intent": "set_stock", "slots": {"sku": "A100", "quantity": 5}}),
        # The input method's characters of the same sound in Chinese.
        ("订单61退宽", {"intent": "refund_order", "slots": {"order_id": "61"}}),
        ("A100价个改成99", {"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}}),
        ("A100库村还有多少", {"intent": "query_stock", "slots": {"sku": "A100"}}),
    ],
)
def test_a_typo_is_read_as_the_word_meant(typed: str, expected: dict[str, object]) -> None:
    assert command_to_json(parse(typed).command) == expected


def test_cancel_misspelt_is_never_read_as_a_query() -> None:
    """Before, "cancle order 4471" matched "order 4471" alone: a status question, not a cancel."""
    assert command_to_json(parse("cancle order 4471").command)["intent"] == "cancel_order"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("set the price of the yoga mat to 139", "en"),
        ("show me the tote bags", "en"),
        ("how many hoodies are left", "en"),
        ("把A100的价格改成99", "zh"),
        ("帽子补货二十顶", "zh"),
    ],
)
def test_words_the_grammar_or_the_shop_uses_are_left_alone(text: str, language: str) -> None:
    assert correct(text, language) == text


@pytest.mark.parametrize(
    ("text", "not_read_as"),
    [
        # Read "check another 10 yoga mats in stock", a stock question about G3, before.
        ("chuck another ten yoga mats in stock", {"intent": "query_stock", "slots": {"sku": "G3"}}),
        ("chuck the running shorts back on the shelf", {"intent": "query_product", "slots": {"sku": "R11"}}),
    ],
)
def test_an_english_word_is_never_corrected_into_a_command_word(text: str, not_read_as: dict[str, object]) -> None:
    """One edit from a grammar word ("check"), but a word English speakers use: it stays as said
    (another form of a grammar word, "shorts" for "short", may still be read as that word)."""
    assert correct(text, "en").split()[0] == "chuck"
    assert command_to_json(parse(text, _demo_vocabulary()).command) != not_read_as


def test_two_characters_across_two_words_are_not_a_typo() -> None:
    """存补 in 库存补到 straddles 库存 and 补到; "corrected" to 存不 it read 库存不到 (a low-stock
    question), and the jeans' stock to reach 60 became 60 more."""
    assert correct("B200库存补到60", "zh") == "B200库存补到60"
    assert command_to_json(parse("牛仔裤库存补到六十", _demo_vocabulary()).command) == {
        "intent": "set_stock",
        "slots": {"sku": "B200", "quantity": 60},
    }


def test_a_typo_beside_a_word_is_still_corrected() -> None:
    """库村 after 的: 库 pairs with 的 on its left, but the fix changes only 村 (probe's 蓝牙耳机的库村查一下
    had become a product question once straddling pairs were left alone)."""
    assert command_to_json(parse("蓝牙耳机的库村查一下", _demo_vocabulary()).command) == {
        "intent": "query_stock",
        "slots": {"sku": "N20"},
    }


def test_a_real_word_may_still_be_read_as_another_form_of_a_grammar_word() -> None:
    assert correct("the customers want a refund", "en") == "the customer want a refund"


def test_lunch_is_not_launch() -> None:
    assert correct("order lunch for the team", "en") == "order lunch for the team"


def test_a_product_word_is_not_corrected_into_a_command_word() -> None:
    """A catalog word the grammar does not know ("Stoke" mugs) stays as typed."""
    vocabulary = Vocabulary([("K1", "Stoke mug")])
    assert correct("how many stoke mug left", "en", keep=frozenset({"stoke", "mug"})) == "how many stoke mug left"
    assert command_to_json(parse("how many stoke mug do we have", vocabulary).command) == {
        "intent": "query_stock",
        "slots": {"sku": "K1"},
    }


def test_a_correction_that_reads_no_better_is_not_taken() -> None:
    """加个 ("add one") sounds like 价格 (price): no better reading, so the text stays as typed."""
    assert parse("给A100加个库存").normalized == "给A100加个库存"


def test_a_chinese_title_s_own_characters_are_never_corrected() -> None:
    """库村 sounds like 库存, but in a shop selling 库村老酒 it is that product's name."""
    vocabulary = Vocabulary([("W1", "库村老酒")])
    assert correct("库村老酒还有多少", "zh", catalog_words(vocabulary)) == "库村老酒还有多少"
    assert correct("库村老酒还有多少", "zh") == "库存老酒还有多少"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # the jeans' title took in 库村 (库存 typed wrong): read as a price change before
        ("蓝色牛仔裤库村改成60", {"intent": "set_stock", "slots": {"sku": "B200", "quantity": 60}}),
        ("set the blue jeans stcok to 30", {"intent": "set_stock", "slots": {"sku": "B200", "quantity": 30}}),
    ],
)
def test_a_command_word_typed_wrong_beside_a_title_is_corrected_and_read_back(
    typed: str, expected: dict[str, object]
) -> None:
    parsed = parse(typed, _demo_vocabulary())
    assert command_to_json(parsed.command) == expected
    assert parsed.confidence < 0.9  # a guess: a change is read back before it runs


def test_a_title_typed_right_keeps_its_sure_reading() -> None:
    parsed = parse("蓝色牛仔裤改成60", _demo_vocabulary())
    assert command_to_json(parsed.command) == {"intent": "set_price", "slots": {"sku": "B200", "price": "60.00"}}
    assert parsed.confidence == 1.0
