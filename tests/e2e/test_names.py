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


def test_comparisons_refunds_and_a_follow_up_report(stack: Stack) -> None:
    async def run() -> list[Turn]:
        async with Conversation(stack.gateway, owner_token()) as conversation:
            return [
                await conversation.say(text)
                for text in (
                    "本月和上月比一比",
                    "上个月呢",
                    "how many refunds this month",
                    "revenue for the past thirty days",
                )
            ]

    compared, follow_up, refunds, last_30 = asyncio.run(run())
    for turn in (compared, follow_up, refunds, last_30):
        assert turn.result is not None and turn.result.status == gw.RESULT_STATUS_OK, turn.messages
    assert compared.result is not None and compared.result.message.startswith("本月销售额")
    assert "上个月" in compared.result.message
    assert follow_up.messages[0].understood.command.sales_report.period == 6  # last_month, same report
    assert refunds.result is not None and "refunds" in refunds.result.message


def test_undo_after_a_refund_says_it_cannot_and_reverts_nothing_older(stack: Stack) -> None:
    from tests.e2e.test_dialogue import place_order
    from tests.e2e.test_text_command import price_of

    order_id = place_order(stack)

    async def run() -> list[Turn]:
        async with Conversation(stack.gateway, owner_token()) as conversation:
            return [
                await conversation.say(text) for text in ("把C7的价格改成289", f"订单{order_id}退款", "确认", "撤销")
            ]

    priced, proposed, refunded, undo = asyncio.run(run())
    assert priced.result is not None and priced.result.status == gw.RESULT_STATUS_OK, priced.messages
    assert proposed.final is not None and proposed.final.WhichOneof("kind") == "confirmation"
    assert refunded.result is not None and refunded.result.status == gw.RESULT_STATUS_OK, refunded.messages
    assert undo.result is not None and undo.result.status == gw.RESULT_STATUS_REJECTED, undo.messages
    assert "退款不能撤销" in undo.result.message
    assert price_of(stack, "C7") == 289  # the older price change stands


def test_undo_the_last_two_changes_reverts_exactly_those(stack: Stack) -> None:
    from tests.e2e.test_text_command import price_of

    async def run() -> list[Turn]:
        async with Conversation(stack.gateway, owner_token()) as conversation:
            texts = ("把B200的价格改成188", "把C7的价格改成277", "把E15的价格改成45", "撤销最近两次修改", "确认")
            return [await conversation.say(text) for text in texts]

    *changes, proposed, confirmed = asyncio.run(run())
    for turn in changes:
        assert turn.result is not None and turn.result.status == gw.RESULT_STATUS_OK, turn.messages
    assert proposed.final is not None and proposed.final.WhichOneof("kind") == "confirmation", proposed.messages
    assert confirmed.result is not None and confirmed.result.status == gw.RESULT_STATUS_OK, confirmed.messages
    assert price_of(stack, "B200") == 188  # the third change back stands
    assert price_of(stack, "C7") != 277 and price_of(stack, "E15") != 45
