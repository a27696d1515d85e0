"""Normalisation examples from docs/design.md and from what ASR produces."""

from __future__ import annotations

import pytest

from shopvoice.grammar import command_to_json, parse
from shopvoice.text import discount_to_percent, normalize
from shopvoice.text.code_switch import read_english_terms
from shopvoice.text.en_numbers import normalize_en_numbers
from shopvoice.text.symbols import read_symbols
from shopvoice.text.zh_numbers import normalize_zh_numbers, read_integer


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("九十九块九", "99.9元"),
        ("一百二十九块九毛九", "129.99元"),
        ("两百", "200"),
        ("一千二", "1200"),
        ("一万二", "12000"),
        ("三千零五", "3005"),
        ("一百零五", "105"),
        ("十五", "15"),
        ("九毛九", "0.99元"),
        ("一百块零五分", "100.05元"),
        ("百分之十", "10%"),
        ("百分之十二点五", "12.5%"),
        ("八五折", "85折"),
        ("八折", "8折"),
        ("订单一二三四", "订单1234"),
        ("订单幺二三", "订单123"),
        ("A一百", "A100"),
        ("1千2", "1200"),
        ("半价", "5折"),
    ],
)
def test_chinese_numbers(spoken: str, written: str) -> None:
    assert normalize_zh_numbers(spoken) == written


@pytest.mark.parametrize("text", ["十几件", "二十多件", "几百块", "查一下", "便宜一点", "统一"])
def test_chinese_words_that_are_not_numbers_stay(text: str) -> None:
    assert normalize_zh_numbers(text) == text


@pytest.mark.parametrize(
    ("spoken", "written"),
    [("涨到六十五一包", "涨到65"), ("99元一件", "99元"), ("加二十一包", "加21包"), ("补五十一箱", "补51箱")],
)
def test_a_price_said_per_unit_drops_the_unit_but_a_count_ending_in_one_stays(spoken: str, written: str) -> None:
    assert normalize_zh_numbers(spoken) == written


def test_spoken_number_next_to_a_code_stays_apart() -> None:
    assert normalize_zh_numbers("A100两件") == "A100 2件"


def test_read_integer_rejects_malformed() -> None:
    assert read_integer("一二百") is None
    assert read_integer("一千二百三十四") == 1234
    assert read_integer("三十四十") is None  # two numbers said one after the other, not 70
    assert read_integer("三万二千五百") == 32500


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("ninety nine dollars", "99 dollars"),
        ("nine zero one two", "9012"),
        ("nine oh one two", "9012"),
        ("double five one", "551"),
        ("one hundred and five", "105"),
        ("a hundred units", "100 units"),
        ("twenty-five", "25"),
        ("twelve point five percent", "12.5%"),
        ("ninety nine dollars and ninety cents", "99.90 dollars"),
        ("twelve thirty four", "12 34"),
        ("red t-shirt", "red t-shirt"),
    ],
)
def test_english_numbers(spoken: str, written: str) -> None:
    assert normalize_en_numbers(spoken) == written


@pytest.mark.parametrize(
    ("zhe", "percent"),
    [("8", "-20"), ("85", "-15"), ("8.5", "-15"), ("95", "-5"), ("7", "-30"), ("5", "-50")],
)
def test_discounts(zhe: str, percent: str) -> None:
    assert discount_to_percent(zhe) == percent


@pytest.mark.parametrize("zhe", ["0", "10", "100", "abc", "123"])
def test_not_a_discount(zhe: str) -> None:
    assert discount_to_percent(zhe) is None


@pytest.mark.parametrize(
    ("raw", "text", "language"),
    [
        ("Ａ１００的价格改成９９元", "A100的价格改成99元", "zh"),
        ("嗯，把那个A一百的价格改成九十九块九", "把A100的价格改成99.9元", "zh"),
        ("把把A100下架", "把A100下架", "zh"),
        ("今天天气怎么样", "今天天气怎么样", "zh"),
        (
            "um set the the price of a one hundred to ninety nine dollars",
            "set the price of A100 to 99 dollars",
            "en",
        ),
        ("is A 100 in stock?", "is A100 in stock", "en"),
        ("a100", "a100", "en"),
        ("add a 20% discount", "add a 20% discount", "en"),
        ("set the price of A100 TO 99", "set the price of A100 TO 99", "en"),
        ("what's the status of order nine zero one two", "what is the status of order 9012", "en"),
        # Two numbers apart stay apart (joined, D4 at 2); one number said with a pause stays one.
        ("d四十二 一百四十九", "d42 149", "en"),
        ("卫衣 一百 五十", "卫衣150", "zh"),
        ("订单 一二三 四五六", "订单123456", "zh"),
    ],
)
def test_pipeline(raw: str, text: str, language: str) -> None:
    result = normalize(raw)
    assert (result.text, result.language) == (text, language)


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("how much did I sell today", "how much did we sell today"),
        ("didn't I ship order 5", "did not we ship order 5"),
        ("I sold 3 yoga mats", "we sold 3 yoga mats"),
        ("how many do I have", "how many do we have"),
        ("set I5 price to 9", "set I5 price to 9"),  # a SKU's letter I stays
        ("size I shirt", "size I shirt"),
    ],
)
def test_a_merchant_saying_i_speaks_for_the_shop(raw: str, text: str) -> None:
    assert normalize(raw).text == text


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        # The subject is never the product: these once asked "which product is 'I'?".
        ("how much did I sell today", {"intent": "sales_report", "slots": {"metric": "revenue", "period": "today"}}),
        (
            "what did we make yesterday",
            {"intent": "sales_report", "slots": {"metric": "revenue", "period": "yesterday"}},
        ),
        ("what did I sell today", {"intent": "sales_report", "slots": {"metric": "revenue", "period": "today"}}),
        ("我今天卖了多少钱", {"intent": "sales_report", "slots": {"metric": "revenue", "period": "today"}}),
        ("我们今天卖了多少", {"intent": "sales_report", "slots": {"metric": "revenue", "period": "today"}}),
        ("咱们这周赚了多少", {"intent": "sales_report", "slots": {"metric": "revenue", "period": "this_week"}}),
        ("我的订单1234发了吗", {"intent": "query_order", "slots": {"order_id": "1234"}}),
    ],
)
def test_people_are_not_products(said: str, expected: dict[str, object]) -> None:
    assert command_to_json(parse(said).command) == expected


@pytest.mark.parametrize("said", ["what did they sell today", "what did you make yesterday"])
def test_someone_else_s_sales_are_not_a_product_report(said: str) -> None:
    assert command_to_json(parse(said).command)["intent"] == "unknown"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # An arrow or equals sign typed for "to" / 改成.
        ("earbuds price -> 349", {"intent": "set_price", "slots": {"sku": "earbuds", "price": "349.00"}}),
        ("A100 price = 99", {"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}}),
        ("A100价格→99", {"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}}),
        ("A100库存=50", {"intent": "set_stock", "slots": {"sku": "A100", "quantity": 50}}),
        # A signed number for "add" / "take off"; "k" for thousand.
        ("k12 stock +15", {"intent": "adjust_stock", "slots": {"sku": "K12", "delta": 15}}),
        ("A100 stock -3", {"intent": "adjust_stock", "slots": {"sku": "A100", "delta": -3}}),
        ("set stock of A100 to 1.2k", {"intent": "set_stock", "slots": {"sku": "A100", "quantity": 1200}}),
        ("confirm #88231", {"intent": "confirm_order", "slots": {"order_id": "88231"}}),
    ],
)
def test_symbols_typed_for_words(typed: str, expected: dict[str, object]) -> None:
    assert command_to_json(parse(typed).command) == expected


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("ship order 1234-5678", "1234-5678"),  # a sign inside an id is no sign
        ("set 1.25k", "1250"),
        ("set 1.2345k", "1.2345k"),  # not a whole number of units: left for the LLM
    ],
)
def test_signs_and_thousands_only_where_they_stand_alone(text: str, kept: str) -> None:
    assert kept in read_symbols(text, "en")


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        (
            "increase A101 by seven and a half percent",
            {"intent": "adjust_price", "slots": {"sku": "A101", "percent": "7.5"}},
        ),
        (
            "Increase A101 by 7, and a half percent.",
            {"intent": "adjust_price", "slots": {"sku": "A101", "percent": "7.5"}},
        ),
        ("A customer is asking about order 1506.", {"intent": "query_order", "slots": {"order_id": "1506"}}),
    ],
)
def test_as_whisper_writes_speech_down(said: str, expected: dict[str, object]) -> None:
    assert command_to_json(parse(said).command) == expected


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("A100 stock 还有多少", {"intent": "query_stock", "slots": {"sku": "A100"}}),
        ("把A100 price 改成99", {"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}}),
        ("F8 add 十件", {"intent": "adjust_stock", "slots": {"sku": "F8", "delta": 10}}),
        ("order 1234 发货", {"intent": "ship_order", "slots": {"order_id": "1234"}}),
        ("订单88 refund", {"intent": "refund_order", "slots": {"order_id": "88"}}),
        ("Cancel 订单 77", {"intent": "cancel_order", "slots": {"order_id": "77"}}),
        ("export 本月的销售数据", {"intent": "export_report", "slots": {"report": "sales", "period": "this_month"}}),
    ],
)
def test_english_shop_words_inside_a_chinese_sentence(said: str, expected: dict[str, object]) -> None:
    assert command_to_json(parse(said).command) == expected


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("把Stockholm保温杯改成99", "Stockholm"),  # part of a longer word
        ("add-on 加10件", "add-on"),  # part of a code
        ("PRICE1 库存", "PRICE1"),  # a SKU
    ],
)
def test_only_whole_english_shop_words_are_read_as_chinese(text: str, kept: str) -> None:
    assert kept in read_english_terms(text)


@pytest.mark.parametrize("said", ["add 十件 to F8", "加10件to F8"])
def test_a_number_inside_a_code_is_never_a_price_or_a_quantity(said: str) -> None:
    # "to F8" once was a new product called "10件to F" at 8.00: the code is the product, not a price.
    command = command_to_json(parse(said).command)
    assert command["intent"] != "create_product", command


@pytest.mark.parametrize("said", ["帮我添加商品搪瓷杯 四十五一个 有二十四个", "添加商品搪瓷杯 45元一个 24个"])
def test_a_number_is_never_split_into_two_slots(said: str) -> None:
    """…24个 had been read as a price of 2 and 4 pieces: a number slot started inside the number."""
    slots = command_to_json(parse(said).command)["slots"]
    assert isinstance(slots, dict)
    assert slots.get("price") not in ("2.00", "4.00") and slots.get("quantity") != 4, slots


@pytest.mark.parametrize(("said", "sku"), [("A100半价", "A100"), ("F9半价处理吧", "F9")])
def test_half_price_after_a_code_is_half_off_that_product(said: str, sku: str) -> None:
    assert command_to_json(parse(said).command)["slots"] == {"sku": sku, "percent": "-50"}


def test_an_order_number_never_starts_inside_a_code() -> None:
    """ "A100 20发了吗" had read order 10020 (the 100 of the code and the 20 after it)."""
    slots = command_to_json(parse("A100 20发了吗").command)["slots"]
    assert isinstance(slots, dict) and slots.get("order_id") != "10020", slots


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("make the white one 99", "make the white one 99"),  # before: "white 1 99", read as 1.99
        ("that one ninety nine", "that one 99"),
        ("the other one 45 bucks", "the other one 45 bucks"),
        ("set the price to one ninety nine", "set the price to 1 99"),  # a price in two groups stays one
        ("make the price one ninety nine", "make the price 1 99"),
        ("restock the b one twenty", "restock the B1 20"),  # a SKU said letter by letter
        ("the one hundred pack", "the 100 pack"),
    ],
)
def test_one_after_the_or_that_is_a_pronoun_not_a_number(spoken: str, written: str) -> None:
    assert normalize(spoken).text == written


@pytest.mark.parametrize(
    ("spoken", "written"),
    [
        ("discount the shorts by a quarter", "discount the shorts by 25%"),
        ("a quarter off the jeans", "25% off the jeans"),
        ("knock half off the yoga mat", "knock 50% off the yoga mat"),
        ("refund half of order 2043", "refund half of order 2043"),  # a refund's half is a fraction
        ("sales this quarter", "sales this quarter"),
    ],
)
def test_a_share_off_a_price_is_its_percentage(spoken: str, written: str) -> None:
    assert normalize_en_numbers(spoken) == written
