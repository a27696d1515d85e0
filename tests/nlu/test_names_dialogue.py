"""The dialogue with names and half-understood sentences: a confident name acts, several ask
which one (with their titles), none says so, a change understood only in part is read back, and
"refund half" becomes an amount from what the order paid, read back before it runs."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from services.nlu.dialogue import DialogueState, Policy, readback, remember_context
from services.nlu.resolve import resolve
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.grammar import Vocabulary, command_to_json, parse
from shopvoice.resolution import CatalogProduct

DETAILS = [
    CatalogProduct("A100", "红色T恤", "Red T-shirt", ("cotton",)),
    CatalogProduct("A101", "白色T恤", "White T-shirt", ("cotton",)),
    CatalogProduct("D42", "黑色双肩包", "Black backpack"),
    CatalogProduct("F9", "红色连帽卫衣", "Red hoodie"),
    CatalogProduct("G3", "瑜伽垫", "Yoga mat", status="archived"),
]
VOCABULARY = Vocabulary([(p.sku, p.title) for p in DETAILS if p.status != "archived"], DETAILS)


async def _no_price(merchant_id: str, sku: str) -> Money | None:
    return Money(units=100, currency_code="CNY")


async def _paid(merchant_id: str, order_id: str) -> Money | None:
    return Money(units=25, nanos=100_000_000, currency_code="CNY") if order_id == "100007" else None


POLICY = Policy(_no_price, Decimal("30"), _paid)


def turn(text: str, state: DialogueState | None = None) -> tuple[str, cmd.Command, str, tuple[str, ...]]:
    parsed = parse(text, VOCABULARY)
    resolution = resolve(parsed.command, VOCABULARY)
    decision = asyncio.run(
        POLICY.decide(
            state or DialogueState(),
            resolution.command,
            text,
            "u1",
            "shop",
            any("\u4e00" <= c <= "\u9fff" for c in text),
            vocabulary=VOCABULARY,
            candidates=resolution.candidates,
            unknown_product=resolution.unknown,
            confidence=parsed.confidence,
        )
    )
    return decision.kind, decision.command, decision.prompt, decision.candidates


def test_a_partial_english_name_or_plural_acts_on_its_one_product() -> None:
    for text in ("how many backpacks do we have left", "how many black backpacks are left", "双肩包还有几个"):
        kind, command, _, _ = turn(text)
        assert kind == "execute" and command.query_stock.sku == "D42", text


def test_several_matches_ask_which_one_with_their_titles() -> None:
    kind, command, prompt, candidates = turn("T恤还有多少")
    assert kind == "ask" and candidates == ("A100", "A101")
    assert prompt == "您说的是哪一个：A100 红色T恤还是A101 白色T恤？"
    kind, _, prompt, candidates = turn("20% off the red one")
    assert kind == "ask" and candidates == ("A100", "F9")
    assert prompt == "Which one: A100 红色T恤 or F9 红色连帽卫衣?"
    assert command_to_json(command)["slots"] == {}


def test_the_answer_to_which_one_completes_the_command() -> None:
    state = DialogueState()
    kind, _, _, _ = turn("T恤改成79", state)
    assert kind == "ask" and state.awaiting_slot == "sku"
    kind, command, _, _ = turn("白色的", state)
    assert kind == "execute"
    assert command_to_json(command) == {"intent": "set_price", "slots": {"sku": "A101", "price": "79.00"}}


def test_a_name_no_product_answers_to_is_said_and_asked_for() -> None:
    kind, _, prompt, _ = turn("how many jackets do we have")
    assert kind == "ask" and "jackets" in prompt and "Which product" in prompt
    kind, _, prompt, _ = turn("夹克还有多少")
    assert kind == "ask" and "夹克" in prompt


def test_an_archived_product_is_still_nameable_to_relist_it() -> None:
    kind, command, _, _ = turn("relist the yoga mat")
    assert kind == "execute" and command.set_product_status.sku == "G3"


def test_a_sales_question_keeps_its_product() -> None:
    kind, command, _, _ = turn("黑色双肩包今天卖了几个")
    assert kind == "execute"
    assert command_to_json(command)["slots"] == {"metric": "units", "period": "today", "sku": "D42"}


def test_carrier_and_tracking_are_kept_never_dropped() -> None:
    kind, command, _, _ = turn("mark order 100010 as shipped with DHL 1234567890")
    assert kind == "execute"
    assert command_to_json(command)["slots"] == {
        "order_id": "100010",
        "carrier": "DHL",
        "tracking_number": "1234567890",
    }
    kind, command, _, _ = turn("订单100010发货 韵达 YD123456789")
    assert kind == "execute"
    assert command_to_json(command)["slots"] == {
        "order_id": "100010",
        "carrier": "YUNDA",
        "tracking_number": "YD123456789",
    }


def test_a_change_understood_only_in_part_is_read_back_not_run() -> None:
    kind, command, prompt, _ = turn("ship order 88 in a gift box")
    assert kind == "propose" and command.ship_order.order_id == "88", prompt
    assert prompt == "I understood only part of that: ship order 88. Confirm?"
    # a question understood in part is answered: it changes nothing
    kind, _, _, _ = turn("what is the status of order 88 in a gift box")
    assert kind == "execute"


def test_refund_half_is_half_of_what_was_paid_read_back_before_it_runs() -> None:
    kind, command, prompt, _ = turn("订单100007退一半")
    assert kind == "propose"
    assert command_to_json(command) == {"intent": "refund_order", "slots": {"order_id": "100007", "amount": "12.55"}}
    assert "12.55" in prompt
    kind, command, prompt, _ = turn("refund half of order 5")
    assert kind == "cancelled" and "amount" in prompt  # its payment is unknown: asked, not guessed


def test_clearing_stock_is_a_set_to_zero_and_is_confirmed() -> None:
    kind, command, prompt, _ = turn("D42库存清零")
    assert kind == "propose" and "D42" in prompt and command_to_json(command)["slots"] == {"sku": "D42", "quantity": 0}


def test_readback_uses_no_internal_names() -> None:
    command = parse("unlist D42").command
    assert readback(command, True) == "把D42设为下架"
    assert readback(command, False) == "set D42 to archived"
    assert "_" not in readback(parse("refund order 88").command, False)


def test_and_last_month_re_asks_the_last_report_for_the_new_period() -> None:
    state = DialogueState()
    kind, command, _, _ = turn("本月和上月比一比", state)
    assert kind == "execute"
    remember_context(state, command, "")
    for text, period in (
        ("上个月呢", "last_month"),
        ("and yesterday?", "yesterday"),
        ("那今天呢", "today"),
        ("and what about last week", "last_week"),
    ):
        kind, command, _, _ = turn(text, state)
        assert kind == "execute", text
        assert command_to_json(command) == {"intent": "sales_report", "slots": {"metric": "revenue", "period": period}}
    # with no report before it, the same words are not understood
    kind, command, _, _ = turn("上个月呢", DialogueState())
    assert command_to_json(command)["intent"] == "unknown"


def test_a_bulk_change_is_proposed_with_its_count_and_examples_and_the_list_is_what_runs() -> None:
    state = DialogueState()
    kind, command, prompt, _ = turn("所有T恤打八折", state)
    assert kind == "propose"
    assert prompt == "将价格下调20%，共2个商品（A100 红色T恤、A101 白色T恤），确认吗？"
    assert command_to_json(command) == {
        "intent": "bulk_adjust_price",
        "slots": {"skus": ["A100", "A101"], "percent": "-20"},
    }
    kind, confirmed, _, _ = turn("确认", state)
    assert kind == "execute" and confirmed == command
    kind, command, prompt, _ = turn("raise every price by 5%", DialogueState())
    assert kind == "propose" and "for 4 products" in prompt and prompt.count(", ") == 3  # three examples, then …
    kind, _, prompt, _ = turn("all jackets 10% off", DialogueState())
    assert kind == "cancelled" and prompt == "No products match that"


def test_after_a_refund_undo_has_nothing_older_to_revert() -> None:
    state = DialogueState(last_change_id="c-old-price-change")
    kind, command, _, _ = turn("refund order 100007", state)
    assert kind == "propose"
    kind, command, _, _ = turn("确认", state)
    assert kind == "execute"
    remember_context(state, command, "")  # the refund ran; orders return no catalog change id
    assert state.last_change_id == "irreversible:refund_order"


def test_the_session_keeps_its_changes_for_undo_n_and_undo_pops_them() -> None:
    state = DialogueState()
    for n, text in enumerate(("set the price of A100 to 80", "set the price of A101 to 70", "add 5 units of D42")):
        remember_context(state, parse(text).command, f"c{n}")
    assert (state.earlier_changes, state.last_change_id) == (["c0", "c1"], "c2")
    kind, command, prompt, _ = turn("undo the last two changes", state)
    assert kind == "propose" and prompt == "This undoes your last 2 changes. Confirm?"
    remember_context(state, command, "")  # it ran
    assert (state.earlier_changes, state.last_change_id) == ([], "c0")
    remember_context(state, parse("撤销").command, "")
    assert (state.earlier_changes, state.last_change_id) == ([], "")


def test_several_products_named_are_one_bulk_change_proposed_with_each_resolved() -> None:
    for text in ("the black backpack and the red hoodie both 10% off", "双肩包和红色卫衣都打九折"):
        kind, command, _, _ = turn(text)
        assert command.WhichOneof("intent") == "bulk_adjust_price", text
        assert list(command.bulk_adjust_price.skus) == ["D42", "F9"], text
        assert kind == "propose", text  # a bulk change is always proposed first


def test_a_list_with_a_name_no_product_answers_to_says_which_name() -> None:
    kind, _, prompt, _ = turn("the black backpack and the purple scarf both 10% off")
    assert kind != "execute" and "purple scarf" in prompt, prompt


def test_a_chinese_list_item_with_the_sentence_stuck_to_it_is_the_product_it_ends_or_starts_with() -> None:
    kind, command, _, _ = turn("老板交代了，双肩包和红色卫衣都改成一百二十九块")
    assert command.WhichOneof("intent") == "bulk_set_price"
    assert list(command.bulk_set_price.skus) == ["D42", "F9"] and kind == "propose"


def test_a_period_alone_is_a_follow_up_in_its_usual_openings() -> None:
    """ "and what about last month" with no report before it had gone to the model, which made a
    report of it (probe6); a period alone is only ever a follow-up."""
    from services.nlu.dialogue import follow_up_period
    from shopvoice.common.v1 import command_pb2 as cmd

    for text in ("and what about last month", "ok how about last month", "what about last month?", "上个月呢"):
        assert follow_up_period(text) == cmd.PERIOD_LAST_MONTH, text
    assert follow_up_period("and what about the red tee") == 0
