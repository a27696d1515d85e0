"""What the model reads, and the check of its answer against the text: what was not said is dropped."""

from __future__ import annotations

import pytest

from services.nlu.llm.convert import json_to_command
from services.nlu.llm.ground import codes_in, ground, model_text, numbers_in, off_percent
from services.nlu.llm.parser import _in_said_order
from shopvoice.grammar.commands import command_to_json
from tests.llm.test_candidates import live_vocabulary


@pytest.mark.parametrize(
    ("said", "seen"),
    [
        ("A100打八五折", "A100降价15%"),
        ("嗯 打个九折吧", "降价10%"),
        ("七五折", "降价25%"),
        ("半价", "降价50%"),
        ("把A100价格改成九十九块九", "把A100价格改成99.9元"),
        ("订单一二三四发货", "订单1234发货"),
    ],
)
def test_the_model_reads_our_normalisers_numbers_and_discounts_as_percent_off(said: str, seen: str) -> None:
    assert model_text(said) == seen


def test_a_rate_is_the_percentage_it_takes_off() -> None:
    assert [off_percent(r) for r in ("9", "85", "7.5", "5", "95")] == ["10", "15", "25", "50", "5"]


def test_codes_are_not_numbers() -> None:
    assert codes_in("set a100 and d 42 to 5") == {"A100", "D42"}
    assert numbers_in("set a100 to 5.5 and sf123 7") == [5.5, 7] or [str(n) for n in numbers_in("set a100 to 5.5")] == [
        "5.5"
    ]


def grounded(answer: dict[str, object], text: str, skus: tuple[str, ...] = ()) -> tuple[dict[str, object], list[str]]:
    command = json_to_command(answer)
    dropped = ground(command, model_text(text), skus)
    return command_to_json(command), dropped


@pytest.mark.parametrize(
    ("text", "answer", "kept", "dropped"),
    [
        # an invented carrier and tracking number
        (
            "订单1234发货",
            {"order_id": "1234", "carrier": "SF", "tracking_number": "SF123456"},
            {"order_id": "1234"},
            ["carrier", "tracking_number"],
        ),
        (
            "ship 1234 with dhl tracking jd0099",
            {"order_id": "1234", "carrier": "DHL", "tracking_number": "JD0099"},
            {"order_id": "1234", "carrier": "DHL", "tracking_number": "JD0099"},
            [],
        ),
    ],
)
def test_ship_order_keeps_only_what_was_said(
    text: str, answer: dict[str, object], kept: dict[str, object], dropped: list[str]
) -> None:
    got, gone = grounded({"intent": "ship_order", "slots": answer}, text)
    assert got["slots"] == kept
    assert sorted(gone) == sorted(dropped)


def test_an_amount_on_a_full_refund_is_dropped_and_a_number_serves_one_slot() -> None:
    got, gone = grounded({"intent": "refund_order", "slots": {"order_id": "88", "amount": "88.00"}}, "refund order 88")
    assert got["slots"] == {"order_id": "88"} and gone == ["amount"]
    got, gone = grounded({"intent": "refund_order", "slots": {"order_id": "88", "amount": "30.00"}}, "给订单88退30元")
    assert got["slots"] == {"order_id": "88", "amount": "30.00"} and gone == []


def test_a_quantity_never_said_is_dropped_and_a_sku_code_is_no_quantity() -> None:
    got, gone = grounded({"intent": "set_stock", "slots": {"sku": "A100", "quantity": 100}}, "set the stock of a100")
    assert got["slots"] == {"sku": "A100", "quantity": 0} and gone == ["quantity"]


def test_a_guardrail_percent_never_said_is_dropped() -> None:
    """ "how big a price change can go through without you asking me first?" answered as a setting of 10%."""
    answer = {"intent": "set_guardrail", "slots": {"price_change_percent": "10"}}
    got, gone = grounded(answer, "how big a price change can go through without you asking me first")
    assert got["slots"] == {} and gone == ["price_change_percent"]
    got, gone = grounded(answer, "改价超过10%要先问我")
    assert got["slots"] == {"price_change_percent": "10"} and gone == []


def test_zero_said_as_a_word_is_said() -> None:
    got, gone = grounded({"intent": "set_stock", "slots": {"sku": "A100", "quantity": 0}}, "A100库存清零")
    assert got["slots"] == {"sku": "A100", "quantity": 0} and gone == []


def test_a_product_must_be_a_code_said_or_a_candidate_the_words_name() -> None:
    answer = {"intent": "query_stock", "slots": {"sku": "A100"}}
    assert grounded(answer, "how many hoodies left")[1] == ["sku"]
    assert grounded(answer, "how many red tees left", skus=("A100", "F9"))[1] == []
    assert grounded(answer, "a100 还有几件")[1] == []


def test_a_discount_is_checked_against_the_percentage_it_takes_off() -> None:
    good = {"intent": "adjust_price", "slots": {"sku": "A100", "percent": "-15"}}
    assert grounded(good, "A100打八五折")[1] == []
    bad = {"intent": "adjust_price", "slots": {"sku": "A100", "percent": "-85"}}
    assert grounded(bad, "A100打八五折")[1] == ["percent"]


def test_price_numbers_are_compared_as_values() -> None:
    got, gone = grounded(
        {"intent": "set_price", "slots": {"sku": "A100", "price": "99.90"}}, "把A100价格改成九十九块九"
    )
    assert got["slots"] == {"sku": "A100", "price": "99.90"} and gone == []


def test_half_is_fifty_percent_said() -> None:
    answer = {"intent": "adjust_price", "slots": {"sku": "M3", "percent": "-50"}}
    assert grounded(answer, "half price on the socks", skus=("M3",))[1] == []


@pytest.mark.parametrize("price", ["179.00", "1.79"])
def test_a_price_said_in_two_groups_grounds_either_reading(price: str) -> None:
    """ "just put them at one seventy nine": the model's 179 was dropped as never said (the text
    reads "1 79"), and the merchant was not understood (probe6)."""
    answer = {"intent": "set_price", "slots": {"sku": "B200", "price": price}}
    assert grounded(answer, "the jeans, just put them at one seventy nine", ("B200",)) == (answer, [])


def test_two_groups_are_no_licence_for_other_numbers() -> None:
    answer = {"intent": "set_price", "slots": {"sku": "B200", "price": "17.90"}}
    assert grounded(answer, "put the jeans at one seventy nine", ("B200",))[1] == ["price"]


@pytest.mark.parametrize(
    ("said", "answered", "kept"),
    [
        ("袜子跟杯子价格都定49.9元", ["E15", "M3"], ["M3", "E15"]),
        ("c7跟b200各补10个货", ["B200", "C7"], ["C7", "B200"]),
        ("bump the yoga mat and the canvas tote up 5 bucks each", ["J5", "G3"], ["G3", "J5"]),
        # a product the text does not name on its own: the model's order stands
        ("the two bags up 5 bucks", ["J5", "D42"], ["J5", "D42"]),
    ],
)
def test_a_list_the_model_reorders_is_put_back_in_the_order_said(
    said: str, answered: list[str], kept: list[str]
) -> None:
    command = json_to_command({"intent": "bulk_adjust_stock", "slots": {"skus": answered, "delta": 5}})
    _in_said_order(command, said, live_vocabulary())
    assert list(command.bulk_adjust_stock.skus) == kept
