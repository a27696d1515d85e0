"""A price said in two groups has two readings; only a spoken-style price gets the second one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.nlu.spoken_prices import hundreds_reading


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
