"""Replies in the merchant's language, through the real gateway, NLU, catalog and orders processes:
the services answer with structured results and the NLU words them (issue 26). A Chinese question
gets no English word of a service's summary, an English one reads as it always did."""

from __future__ import annotations

import asyncio
import re

from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.stack import Stack
from tests.e2e.test_dialogue import place_order
from tests.e2e.test_text_command import owner_token, price_of

# An English word in a Chinese reply: a service's summary passed through (SKUs such as D42, codes
# such as SF, and amounts are not words).
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


def say_all(stack: Stack, *texts: str) -> list[str]:
    """Each text in one conversation; the final reply of each (result, question or prompt)."""

    async def run() -> list[Turn]:
        async with Conversation(stack.gateway, owner_token()) as conversation:
            return [await conversation.say(text) for text in texts]

    replies = []
    for turn in asyncio.run(run()):
        final = turn.final
        assert final is not None, turn.messages
        kind = final.WhichOneof("kind")
        replies.append(final.result.message if kind == "result" else str(getattr(final, kind or "result")))
    return replies


def chinese(reply: str) -> str:
    assert not ENGLISH_WORD.search(reply), reply
    assert "_" not in reply, reply
    return reply


def test_todays_sales_in_chinese_in_yuan(stack: Stack) -> None:
    place_order(stack)
    (reply,) = say_all(stack, "今天卖了多少钱")
    assert re.fullmatch(r"今天销售额\d+\.\d{2}元，共\d+笔订单", chinese(reply)), reply


def test_todays_sales_in_english(stack: Stack) -> None:
    place_order(stack)
    # "I" is the merchant, not a product named "I" (the NLU once asked which product that was).
    for said in ("what are today's sales", "how much did I sell today"):
        (reply,) = say_all(stack, said)
        assert re.fullmatch(r"today: revenue \d+\.\d{2} CNY from \d+ orders", reply), reply


def test_ship_in_chinese_and_in_english(stack: Stack) -> None:
    first, second = place_order(stack), place_order(stack)
    # The grammar is not sure of 发顺丰 (confidence 0.8): it reads the command back and asks first.
    asked, zh, en = say_all(stack, f"把订单{first}发顺丰", "确认", f"ship order {second} via SF")
    assert f"订单{first}发货" in asked, asked
    assert chinese(zh) == f"订单{first}已发货，顺丰", zh
    assert en == f"order {second} shipped via SF", en


def test_refund_in_chinese_and_in_english(stack: Stack) -> None:
    first, second = place_order(stack), place_order(stack)
    replies = say_all(stack, f"订单{first}退款", "确认", f"refund order {second}", "yes, confirm")
    assert chinese(replies[1]) == f"订单{first}已全额退款49.00元", replies
    assert replies[3] == f"order {second} fully refunded: 49.00 CNY", replies


def test_order_status_cancel_and_refunds_total_in_chinese(stack: Stack) -> None:
    order_id = place_order(stack)
    status, _, cancelled, refunds = say_all(
        stack, f"订单{order_id}现在什么状态", f"取消订单{order_id}", "确认", "本周退款多少"
    )
    assert chinese(status) == f"订单{order_id}：待发货，已付款，金额 ¥49.00", status
    assert chinese(cancelled) == f"订单{order_id}已取消，已退款49.00元", cancelled
    assert re.fullmatch(r"本周退款\d+笔，共\d+\.\d{2}元", chinese(refunds)), refunds


def test_compare_and_best_sellers_in_chinese(stack: Stack) -> None:
    place_order(stack)
    compared, best = say_all(stack, "本月和上月比一比", "今天卖得最好的商品")
    assert re.fullmatch(r"本月销售额\d+\.\d{2}元，上个月\d+\.\d{2}元（.+）", chinese(compared)), compared
    assert chinese(best).startswith("今天卖得最好的：E15 "), best


def test_a_price_change_and_its_undo_in_chinese(stack: Stack) -> None:
    # D42: no order here touches it (order activity on a SKU makes the catalog refuse an undo).
    before = price_of(stack, "D42")
    changed, undone = say_all(stack, f"把D42的价格改成{before + 1}", "撤销")
    assert re.fullmatch(r"D42 价格 [\d.]+ → [\d.]+ 元", chinese(changed)), changed
    assert re.fullmatch(r"已撤销：D42 价格 [\d.]+ → [\d.]+ 元", chinese(undone)), undone
    assert price_of(stack, "D42") == before


def test_a_listing_in_chinese_names_the_status_in_chinese(stack: Stack) -> None:
    (reply,) = say_all(stack, "上架A100")
    assert re.fullmatch(r".+（A100）(已经是|现为)在售", chinese(reply)), reply


def test_a_refusal_in_chinese_says_what_was_refused_in_chinese(stack: Stack) -> None:
    """The catalog's refusal ("SKU ZZ9 not found ...") is English free text: a Chinese merchant
    hears what was refused, and why in kind, from the status code and the command."""
    (reply,) = say_all(stack, "把ZZ9的价格改成10元")
    assert chinese(reply) == "找不到商品ZZ9，什么都没有改", reply
