"""json_to_command and command_to_json: docs/design.md's JSON shape <-> the Command proto."""

from __future__ import annotations

from typing import Any

import pytest

from services.nlu.llm import CommandJsonError, command_to_json, json_to_command
from services.nlu.llm.prompt import BUILTIN_EXAMPLES
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money


@pytest.mark.parametrize("example", BUILTIN_EXAMPLES, ids=lambda e: e.text)
def test_every_example_round_trips(example: Any) -> None:
    command = json_to_command(example.answer)
    if example.answer["intent"] == "unknown":  # the model gives no text: the parser keeps the utterance
        assert command == cmd.Command(unknown=cmd.Unknown())
        return
    assert command_to_json(command) == example.answer
    assert json_to_command(command_to_json(command)) == command


def test_money_becomes_units_and_nanos_never_a_float() -> None:
    command = json_to_command({"intent": "set_price", "slots": {"sku": "A100", "price": "99.90"}})
    assert command.set_price.price == Money(units=99, nanos=900_000_000)
    delta = json_to_command({"intent": "adjust_price", "slots": {"sku": "A100", "delta": "-10.50"}})
    assert delta.adjust_price.delta == Money(units=-10, nanos=-500_000_000)
    assert command_to_json(delta)["slots"]["delta"] == "-10.50"


def test_optional_slots_keep_said_and_not_said_apart() -> None:
    full = json_to_command({"intent": "refund_order", "slots": {"order_id": "88"}})
    assert not full.refund_order.HasField("amount")
    partial = json_to_command({"intent": "refund_order", "slots": {"order_id": "88", "amount": "0.00"}})
    assert partial.refund_order.HasField("amount")
    assert command_to_json(partial)["slots"] == {"order_id": "88", "amount": "0.00"}


def test_zero_stock_is_said() -> None:
    command = cmd.Command(set_stock=cmd.SetStock(sku="A100", quantity=0))
    assert command_to_json(command) == {"intent": "set_stock", "slots": {"sku": "A100", "quantity": 0}}


def test_enums_by_lowercase_name() -> None:
    command = json_to_command({"intent": "sales_report", "slots": {"metric": "top_products", "period": "last_7_days"}})
    assert command.sales_report.metric == cmd.METRIC_TOP_PRODUCTS
    assert command.sales_report.period == cmd.PERIOD_LAST_7_DAYS


def test_empty_intents() -> None:
    for intent in ("undo", "confirm", "cancel"):
        command = json_to_command({"intent": intent, "slots": {}})
        assert command.WhichOneof("intent") == intent
        assert json_to_command({"intent": intent}) == command


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([], "JSON object"),
        ({"intent": "delete_shop", "slots": {}}, "unknown intent"),
        ({"intent": "set_price", "slots": []}, "slots must be"),
        ({"intent": "set_price", "slots": {"sku": "A100", "price": 99.0}}, "string like"),
        ({"intent": "set_price", "slots": {"sku": "A100", "price": "ninety"}}, "decimal string"),
        ({"intent": "set_price", "slots": {"sku": "A100", "colour": "red"}}, "no slot"),
        ({"intent": "set_stock", "slots": {"sku": "A100", "quantity": "5"}}, "integer"),
        ({"intent": "set_stock", "slots": {"sku": "A100", "quantity": True}}, "integer"),
        ({"intent": "set_stock", "slots": {"sku": "A100", "quantity": 2**70}}, "64 bits"),
        ({"intent": "list_orders", "slots": {"status": "SHIPPED"}}, "known names"),
        ({"intent": "list_orders", "slots": {"status": "unspecified"}}, "known names"),
        ({"intent": "adjust_price", "slots": {"sku": "A1", "percent": "-5", "delta": "1.00"}}, "not both"),
        ({"intent": "undo", "slots": {}, "confidence": 1}, "unexpected keys"),
        ({"intent": "query_order", "slots": {"order_id": 1234}}, "string"),
    ],
)
def test_wrong_shapes_are_refused_with_a_reason(obj: Any, message: str) -> None:
    with pytest.raises(CommandJsonError, match=message):
        json_to_command(obj)
