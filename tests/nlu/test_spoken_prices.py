"""A price said in two groups has two readings; only a spoken-style price gets the second one."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from services.nlu.llm.convert import json_to_command
from services.nlu.spoken_prices import hundreds_reading, read_by_current_price
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.grammar.commands import command_to_json
from shopvoice.money import from_decimal


@pytest.mark.parametrize(
    ("said", "grammar_read", "hundreds"),
    [
        ("set the price of the jeans to one seventy nine", "1.79", Decimal("179")),
        ("make B200 nine ninety nine", "9.99", Decimal("999")),
        ("set A100 to 1.79", "1.79", None),  # typed with a point: one reading
        ("set A100 to nineteen ninety nine", "19.99", None),  # a first group of two digits is dollars
        ("set A100 to one seventy nine", "2.50", None),  # the price is not the one said
    ],
)
def test_the_hundreds_reading_exists_only_for_a_one_digit_first_group(
    said: str, grammar_read: str, hundreds: Decimal | None
) -> None:
    assert hundreds_reading(said, Decimal(grammar_read)) == hundreds


PRICES = {"F8": "199.00", "F9": "219.00", "A100": "79.00", "K10": "29.00", "E15": "89.00"}
CORNER_SHOP = {"GUM": "1.50", "MINTS": "2.20"}


async def _lookup(_merchant: str, sku: str) -> Money | None:
    price = {**PRICES, **CORNER_SHOP}.get(sku)
    return from_decimal(Decimal(price), "CNY") if price is not None else None


def _chosen(said: str, answer: dict[str, object], shop: tuple[str, ...] = ()) -> tuple[bool, dict[str, object]]:
    command = json_to_command(answer)
    chosen = asyncio.run(read_by_current_price(command, said, "m1", _lookup, [(sku, sku) for sku in shop]))
    return chosen, command_to_json(command)


def test_a_list_of_products_is_judged_by_their_prices() -> None:
    said = "put the grey hoodie and the red hoodie both at two nineteen"
    chosen, command = _chosen(said, {"intent": "bulk_set_price", "slots": {"skus": ["F8", "F9"], "price": "2.19"}})
    assert chosen and command["slots"]["price"] == "219.00"  # type: ignore[index]


def test_a_new_product_is_judged_by_the_shops_prices() -> None:
    said = "add a new product green hoodie price two forty nine with thirty in stock"
    answer: dict[str, object] = {
        "intent": "create_product",
        "slots": {"title": "green hoodie", "price": "2.49", "quantity": 30},
    }
    chosen, command = _chosen(said, answer, shop=tuple(PRICES))
    assert chosen and command["slots"]["price"] == "249.00"  # type: ignore[index]
    # a shop of cheap things keeps the shelf-price reading
    chosen, command = _chosen(
        "new product gum at one twenty nine",
        {**answer, "slots": {"title": "gum", "price": "1.29"}},
        shop=tuple(CORNER_SHOP),
    )
    assert chosen and command["slots"]["price"] == "1.29"  # type: ignore[index]


def test_a_price_said_as_one_number_is_not_a_choice() -> None:
    chosen, command = _chosen(
        "add a green hoodie at 249",
        {"intent": "create_product", "slots": {"title": "green hoodie", "price": "249.00"}},
        shop=tuple(PRICES),
    )
    assert not chosen and command["slots"]["price"] == "249.00"  # type: ignore[index]
