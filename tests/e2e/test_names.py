"""Products named as people name them, through the real gateway, NLU and catalog (issue 26):
partial names and plurals act on their one product, several ask which one, a product created
through the assistant is named by its title a second later, lists and low stock answer."""

from __future__ import annotations

import asyncio
import time

from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.stack import Stack
from tests.e2e.test_text_command import owner_token, say


def test_a_partial_name_acts_on_its_one_product(stack: Stack) -> None:
    turn = say(stack, "双肩包还有几个")
    assert turn.messages[0].understood.command.query_stock.sku == "D42"
    assert turn.result is not None and turn.result.status == gw.RESULT_STATUS_OK
    assert "D42" in turn.result.message


def test_a_name_that_fits_nothing_is_said_and_asked_for(stack: Stack) -> None:
    turn = say(stack, "夹克还有多少")
    final = turn.final
    assert final is not None and final.WhichOneof("kind") == "clarification", turn.messages
    assert "夹克" in final.clarification.prompt


def test_a_product_created_through_the_assistant_is_named_by_its_title_a_second_later(stack: Stack) -> None:
    async def run() -> tuple[Turn, Turn, Turn, float]:
        async with Conversation(stack.gateway, owner_token()) as conversation:
            created = await conversation.say("新建商品绿色帆布鞋，价格一百九十九，库存三十双")
            started = time.monotonic()
            await asyncio.sleep(1.0)
            by_title = await conversation.say("绿色帆布鞋还有多少")
            partial = await conversation.say("帆布鞋还有多少")
            return created, by_title, partial, time.monotonic() - started

    created, by_title, partial, _ = asyncio.run(run())
    assert created.result is not None and created.result.status == gw.RESULT_STATUS_OK, created.messages
    for turn in (by_title, partial):
        sku = turn.messages[0].understood.command.query_stock.sku
        assert sku.startswith("P") and len(sku) == 9, turn.messages  # the generated SKU
        assert turn.result is not None and turn.result.status == gw.RESULT_STATUS_OK, turn.messages
        assert "30" in turn.result.message


def test_list_products_and_low_stock_answer(stack: Stack) -> None:
    listed = say(stack, "list all products")
    assert listed.result is not None and listed.result.status == gw.RESULT_STATUS_OK, listed.messages
    assert "A100" in listed.result.message and "E15" in listed.result.message
    low = say(stack, "哪些商品库存少于二十五件")
    assert low.result is not None and low.result.status == gw.RESULT_STATUS_OK, low.messages
    assert "D42" in low.result.message and "A100" not in low.result.message  # D42 has 20, A100 100
