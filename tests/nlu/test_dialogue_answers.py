"""Which replies answer the dialogue's "Which order?" whatever the words alone would mean."""

from __future__ import annotations

import pytest

from services.nlu.dialogue import names_only_an_order


@pytest.mark.parametrize(
    "reply",
    ["order 88", "Order #88.", "order eight eight", "the order number 5566", "this order 12", "order 88?"],
)
def test_a_reply_that_only_names_an_order(reply: str) -> None:
    assert names_only_an_order(reply)


@pytest.mark.parametrize(
    "reply",
    ["ship order 88", "order 88 via SF", "what's the status of order 88", "refund order 88", "88 units", "order"],
)
def test_a_reply_that_says_more_is_its_own_command(reply: str) -> None:
    assert not names_only_an_order(reply)
