"""The dialogue through the real stack: confirmation of destructive commands, cancel,
undo, context ("ship it"), missing slots and ambiguous products."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

import grpc
import redis

from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.events.v1.events_pb2 import Event
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc
from shopvoice_cli import demo_shop
from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.stack import Stack
from tests.e2e.test_text_command import owner_token, price_of

Script = Callable[[Conversation], Awaitable[list[Turn]]]


def converse(stack: Stack, script: Script) -> list[Turn]:
    async def run() -> list[Turn]:
        async with Conversation(stack.gateway, owner_token()) as conversation:
            return await script(conversation)

    return asyncio.run(run())


def place_order(stack: Stack, sku: str = "E15", quantity: int = 1) -> str:
    """A paid order from the shop front, with its stock reserved (the saga done)."""
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['orders']}") as channel:
        orders = orders_pb2_grpc.OrdersServiceStub(channel)
        placed = orders.PlaceOrder(
            orders_pb2.PlaceOrderRequest(
                mutation=Mutation(merchant_id=demo_shop.MERCHANT_ID, idempotency_key=uuid.uuid4().hex),
                lines=[orders_pb2.OrderLine(sku=sku, title="保温杯", quantity=quantity, unit_price=Money(units=49))],
                customer_ref="c-1",
                currency_code="CNY",
                paid=True,
            ),
            timeout=10,
        )
        order_id = placed.order.order_id
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            order = orders.GetOrder(orders_pb2.GetOrderRequest(merchant_id=demo_shop.MERCHANT_ID, order_id=order_id))
            if order.reservation_status == orders_pb2.RESERVATION_STATUS_RESERVED:
                return order_id
            time.sleep(0.1)
    raise AssertionError(f"order {order_id} was never reserved")


def get_order(stack: Stack, order_id: str) -> orders_pb2.Order:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['orders']}") as channel:
        stub = orders_pb2_grpc.OrdersServiceStub(channel)
        order: orders_pb2.Order = stub.GetOrder(
            orders_pb2.GetOrderRequest(merchant_id=demo_shop.MERCHANT_ID, order_id=order_id), timeout=5
        )
        return order


def wait_for_catalog_event(stack: Stack, sku: str) -> None:
    """The NLU learns of new products from the catalog's events (relayed from the outbox):
    wait until the event is on the stream, plus a moment for the NLU to read it."""
    client = redis.Redis.from_url(stack.redis_url)
    stream = f"{stack.extra_env['STREAM_PREFIX']}:events:catalog"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for _id, fields in client.xrange(stream):
            event = Event.FromString(fields[b"event"])
            if event.WhichOneof("payload") == "product_changed" and sku in event.product_changed.skus:
                client.close()
                time.sleep(0.3)
                return
        time.sleep(0.05)
    raise AssertionError(f"no ProductChanged event for {sku}")


def kind(turn: Turn) -> str:
    final = turn.final
    assert final is not None, turn.messages
    return final.WhichOneof("kind") or ""


def test_refund_asks_first_and_runs_only_after_confirm(stack: Stack) -> None:
    order_id = place_order(stack)

    async def script(c: Conversation) -> list[Turn]:
        return [await c.say(f"refund order {order_id}"), await c.say("确认"), await c.say("yes, confirm")]

    proposed, confirmed, again = converse(stack, script)
    assert kind(proposed) == "confirmation" and order_id in proposed.final.confirmation.prompt  # type: ignore[union-attr]
    assert confirmed.result is not None and confirmed.result.status == gw.RESULT_STATUS_OK, confirmed.messages
    assert get_order(stack, order_id).payment_status == orders_pb2.PAYMENT_STATUS_REFUNDED
    assert again.result is not None and again.result.status == gw.RESULT_STATUS_REJECTED  # nothing left to confirm


def test_cancel_drops_the_proposal_and_nothing_changes(stack: Stack) -> None:
    order_id = place_order(stack)

    async def script(c: Conversation) -> list[Turn]:
        return [await c.say(f"取消订单{order_id}"), await c.say("算了")]

    proposed, dropped = converse(stack, script)
    assert kind(proposed) == "confirmation"
    assert dropped.result is not None and dropped.result.status == gw.RESULT_STATUS_CANCELLED
    assert get_order(stack, order_id).fulfillment_status != orders_pb2.FULFILLMENT_STATUS_CANCELLED


def test_ship_it_refers_to_the_order_just_discussed(stack: Stack) -> None:
    order_id = place_order(stack)

    async def script(c: Conversation) -> list[Turn]:
        return [await c.say(f"what's the status of order {order_id}"), await c.say("ship it via SF tracking SF123456")]

    status, shipped = converse(stack, script)
    assert status.result is not None and order_id in status.result.message
    assert shipped.result is not None and shipped.result.status == gw.RESULT_STATUS_OK, shipped.messages
    order = get_order(stack, order_id)
    assert order.fulfillment_status == orders_pb2.FULFILLMENT_STATUS_SHIPPED
    assert order.shipments[0].carrier == "SF" and order.shipments[0].tracking_number == "SF123456"


def test_a_missing_order_is_asked_for_and_the_answer_fills_it(stack: Stack) -> None:
    order_id = place_order(stack)

    async def script(c: Conversation) -> list[Turn]:
        return [await c.say("发货吧"), await c.say(f"订单{order_id}")]

    asked, shipped = converse(stack, script)
    assert kind(asked) == "clarification" and asked.final.clarification.missing_slot == "order_id"  # type: ignore[union-attr]
    assert shipped.result is not None and shipped.result.status == gw.RESULT_STATUS_OK, shipped.messages
    assert get_order(stack, order_id).fulfillment_status == orders_pb2.FULFILLMENT_STATUS_SHIPPED


def test_an_order_named_alone_answers_which_order_and_is_not_shipped(stack: Stack) -> None:
    """Alone, "order N" asks about the order; as the answer to "Which order?" it fills the slot
    (it used to ship the order, with no question, whatever command had asked)."""
    order_id = place_order(stack)

    async def script(c: Conversation) -> list[Turn]:
        return [await c.say("refund it"), await c.say(f"order {order_id}"), await c.say("算了")]

    asked, proposed, dropped = converse(stack, script)
    assert kind(asked) == "clarification" and asked.final.clarification.missing_slot == "order_id"  # type: ignore[union-attr]
    assert kind(proposed) == "confirmation", proposed.messages
    assert proposed.final.confirmation.command.refund_order.order_id == order_id  # type: ignore[union-attr]
    assert dropped.result is not None and dropped.result.status == gw.RESULT_STATUS_CANCELLED
    order = get_order(stack, order_id)
    assert order.fulfillment_status != orders_pb2.FULFILLMENT_STATUS_SHIPPED
    assert order.payment_status != orders_pb2.PAYMENT_STATUS_REFUNDED


def test_an_order_named_alone_is_a_status_query(stack: Stack) -> None:
    order_id = place_order(stack)

    async def script(c: Conversation) -> list[Turn]:
        return [await c.say(f"order {order_id}")]

    (status,) = converse(stack, script)
    assert status.understood is not None and status.understood.command.WhichOneof("intent") == "query_order"
    assert status.result is not None and order_id in status.result.message, status.messages
    assert get_order(stack, order_id).fulfillment_status != orders_pb2.FULFILLMENT_STATUS_SHIPPED


def test_a_report_without_a_period_asks_for_one_and_the_answer_fills_it(stack: Stack) -> None:
    place_order(stack, quantity=2)

    async def script(c: Conversation) -> list[Turn]:
        return [await c.say("what products sold best"), await c.say("this month")]

    asked, reported = converse(stack, script)
    assert kind(asked) == "clarification" and asked.final.clarification.missing_slot == "period"  # type: ignore[union-attr]
    assert reported.result is not None and reported.result.status == gw.RESULT_STATUS_OK, reported.messages
    assert "E15" in reported.result.message, reported.result.message  # the product just sold


def test_undo_reverts_the_sessions_last_change(stack: Stack) -> None:
    # D42: a SKU no order here touches (order activity on a SKU makes the catalog refuse an undo).
    before = price_of(stack, "D42")

    async def script(c: Conversation) -> list[Turn]:
        return [await c.say(f"set the price of D42 to {before + 1}"), await c.say("撤销")]

    changed, undone = converse(stack, script)
    assert changed.result is not None and changed.result.status == gw.RESULT_STATUS_OK, changed.messages
    assert undone.result is not None and undone.result.status == gw.RESULT_STATUS_OK, undone.messages
    assert price_of(stack, "D42") == before


def test_a_large_price_change_asks_first(stack: Stack) -> None:
    before = price_of(stack, "C7")

    async def script(c: Conversation) -> list[Turn]:
        return [await c.say("把C7的价格改成1元")]

    (proposed,) = converse(stack, script)
    assert kind(proposed) == "confirmation"
    assert price_of(stack, "C7") == before


def test_an_ambiguous_product_lists_the_candidates(stack: Stack) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['catalog']}") as channel:
        catalog_pb2_grpc.CatalogServiceStub(channel).CreateProduct(
            catalog_pb2.CreateProductRequest(
                mutation=Mutation(merchant_id=demo_shop.MERCHANT_ID, idempotency_key="hat"),
                title="红色帽子",
                sku="H1",
                price=Money(units=39),
                quantity=5,
            ),
            timeout=5,
        )

    wait_for_catalog_event(stack, "H1")

    async def script(c: Conversation) -> list[Turn]:
        # The NLU drops its cached product names when it reads the event (XREAD, no ack to
        # wait on): under load that can come after the first question, which then still
        # sees one red product. A read-only question is safe to ask again.
        for _attempt in range(50):
            asked = await c.say("红色的还有多少库存")
            if kind(asked) == "clarification":
                break
            await asyncio.sleep(0.2)
        return [asked, await c.say("H1")]

    asked, answered = converse(stack, script)
    assert kind(asked) == "clarification", asked.messages
    assert set(asked.final.clarification.candidates) == {"A100", "H1"}  # type: ignore[union-attr]
    assert answered.result is not None and "H1" in answered.result.message, answered.messages


def test_query_product_by_title(stack: Stack) -> None:
    async def script(c: Conversation) -> list[Turn]:
        return [await c.say("查一下红色T恤")]

    (turn,) = converse(stack, script)
    assert turn.result is not None and turn.result.status == gw.RESULT_STATUS_OK
    assert "红色T恤" in turn.result.message and Decimal(0) < price_of(stack, "A100")
