"""validate(): an LLM answer must obey the same contract as a grammar answer before it can run."""

from __future__ import annotations

from typing import Any

import pytest

from services.nlu.llm import json_to_command, validate
from services.nlu.llm.prompt import BUILTIN_EXAMPLES, check_examples
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money


def problems(intent: str, **slots: Any) -> list[str]:
    return validate(json_to_command({"intent": intent, "slots": slots}))


def test_builtin_examples_are_valid() -> None:
    assert check_examples(BUILTIN_EXAMPLES) == []


def test_a_command_with_no_intent_is_refused() -> None:
    assert validate(cmd.Command()) == ["no intent set"]


@pytest.mark.parametrize(
    ("intent", "slots", "expected"),
    [
        ("set_price", {"sku": "A100"}, "price missing"),
        ("set_price", {"sku": "A100", "price": "99.999"}, "more than two decimals"),
        ("set_price", {"sku": "A100", "price": "-1.00"}, "out of range"),
        ("set_price", {"sku": "A100", "price": "100000000.01"}, "out of range"),
        ("set_price", {"sku": "a100", "price": "9.00"}, "upper-case"),
        ("set_price", {"sku": "", "price": "9.00"}, "sku missing"),
        ("set_price", {"sku": " A100", "price": "9.00"}, "not a clean"),
        ("set_price", {"sku": "}", "price": "9.00"}, "not a clean"),
        ("adjust_price", {"sku": "A100"}, "percent or delta"),
        ("adjust_price", {"sku": "A100", "percent": "-200"}, "percent"),
        ("adjust_price", {"sku": "A100", "percent": "abc"}, "percent"),
        ("set_stock", {"sku": "A100", "quantity": -1}, "out of range"),
        ("adjust_stock", {"sku": "A100", "delta": 10**9}, "out of range"),
        ("create_product", {"title": "", "price": "9.00"}, "title"),
        ("create_product", {"title": "red\x00shirt", "price": "9.00"}, "title"),
        ("confirm_order", {"order_id": "12a4"}, "digits"),
        ("ship_order", {"order_id": "1234", "carrier": "POSTMAN"}, "unknown carrier"),
        ("ship_order", {"order_id": "1234", "tracking_number": "sf-1"}, "tracking"),
        ("refund_order", {"order_id": "88", "amount": "0.001"}, "more than two decimals"),
        ("set_product_status", {"sku": "A100"}, "status unspecified"),
        ("sales_report", {"period": "today"}, "metric unspecified"),
    ],
)
def test_bad_slots_are_refused(intent: str, slots: dict[str, Any], expected: str) -> None:
    found = problems(intent, **slots)
    assert any(expected in p for p in found), found


def test_titles_are_accepted_where_a_sku_is_expected() -> None:
    """The NLU resolves titles to SKUs later; an unresolved title is still a valid slot."""
    assert problems("query_stock", sku="红色T恤") == []
    assert problems("query_stock", sku="the red t-shirt") == []


def test_money_units_and_nanos_must_agree_in_sign() -> None:
    command = cmd.Command(set_price=cmd.SetPrice(sku="A100", price=Money(units=1, nanos=-5)))
    assert any("sign" in p for p in validate(command))
