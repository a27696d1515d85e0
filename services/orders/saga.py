"""The stock reservation saga with the catalog, over Redis Streams.

Orders publishes OrderPlaced (reserve), OrderCancelled (release), OrderShipped
(commit) and OrderRefunded (restock) through its outbox; the catalog answers
ReservationDecided on its own stream. A refusal is compensated here: the order
is cancelled and its money returned, with the catalog's reason recorded. Each
decision is applied exactly once (processed_events in the same transaction);
an event that cannot be applied stays pending and, after STREAM_MAX_DELIVERIES
tries, goes to the dead-letter stream.
"""

from __future__ import annotations

from decimal import Decimal

from services.orders import rollup, states, store
from services.orders.model import Order
from shopvoice import log, outbox, streams
from shopvoice.db import Conn, Pool
from shopvoice.errors import InvalidArgument, NotFound
from shopvoice.events.v1 import events_pb2
from shopvoice.money import from_decimal
from shopvoice.redis_keys import RedisKeys

CONSUMER = "orders.reservations"  # processed_events key of this consumer
GROUP = "orders"


def event_lines(lines: dict[str, int]) -> list[events_pb2.EventLine]:
    return [events_pb2.EventLine(sku=sku, quantity=qty) for sku, qty in sorted(lines.items()) if qty]


def order_lines(order: Order) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in order.lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return totals


async def placed(conn: Conn, stream: str, order: Order) -> None:
    event = outbox.new_event(order.merchant_id)
    event.order_placed.CopyFrom(
        events_pb2.OrderPlaced(order_id=str(order.order_id), lines=event_lines(order_lines(order)))
    )
    await outbox.enqueue(conn, stream, event)


async def cancelled(conn: Conn, stream: str, order: Order, release: dict[str, int]) -> None:
    """`release`: the units the catalog should hand back (empty: it holds none)."""
    event = outbox.new_event(order.merchant_id)
    event.order_cancelled.CopyFrom(events_pb2.OrderCancelled(order_id=str(order.order_id), lines=event_lines(release)))
    await outbox.enqueue(conn, stream, event)


async def shipped(conn: Conn, stream: str, order: Order, carrier: str, tracking_number: str) -> None:
    event = outbox.new_event(order.merchant_id)
    event.order_shipped.CopyFrom(
        events_pb2.OrderShipped(order_id=str(order.order_id), carrier=carrier, tracking_number=tracking_number)
    )
    await outbox.enqueue(conn, stream, event)


async def refunded(conn: Conn, stream: str, order: Order, amount: Decimal, restock: dict[str, int]) -> None:
    event = outbox.new_event(order.merchant_id)
    event.order_refunded.CopyFrom(
        events_pb2.OrderRefunded(
            order_id=str(order.order_id),
            amount=from_decimal(amount, order.currency_code),
            restock=bool(restock),
            lines=event_lines(restock),
        )
    )
    await outbox.enqueue(conn, stream, event)


async def cancellation(conn: Conn, stream: str, order: Order, refund: Decimal, release: dict[str, int]) -> None:
    """Record and announce a cancellation: the automatic refund, if money was
    returned, then the release of the stock the catalog holds for the order."""
    if refund:
        await store.add_refund(conn, order, refund, {}, order.cancel_reason)
        await refunded(conn, stream, order, refund, {})
    await cancelled(conn, stream, order, release)


class UnknownOrder(Exception):
    """A decision about an order this shop does not have: poison, dead-lettered after retries."""


class ReservationConsumer:
    """Applies the catalog's ReservationDecided events to orders."""

    def __init__(self, pool: Pool, prefix: str) -> None:
        self.pool = pool
        self.orders_stream = RedisKeys(prefix).orders_events

    async def handle(self, entry_id: bytes, fields: streams.Fields) -> None:
        event = outbox.decode(fields)
        if event.WhichOneof("payload") != "reservation_decided":
            return  # the catalog's other events are not ours to act on
        decision = event.reservation_decided
        async with self.pool.connection() as conn, conn.transaction():
            if await outbox.already_processed(conn, CONSUMER, event.event_id):
                return
            await self.apply(conn, event.merchant_id, decision)

    async def apply(self, conn: Conn, merchant_id: str, decision: events_pb2.ReservationDecided) -> None:
        try:
            order = await store.load(conn, merchant_id, store.parse_order_id(decision.order_id), for_update=True)
        except (NotFound, InvalidArgument) as exc:
            raise UnknownOrder(f"reservation decided for unknown order {decision.order_id!r}: {exc}") from exc
        logger = log.get().bind(merchant_id=merchant_id, order_id=order.order_id)
        before = rollup.contribution(order)
        previous_status = order.reservation_status
        if decision.accepted:
            states.reservation_accepted(order)
        else:
            refund = states.reservation_refused(order, decision.reason)
            if refund is not None:  # compensated: tell the world the order is gone
                # The catalog reserved nothing, so the cancellation releases nothing.
                await cancellation(conn, self.orders_stream, order, refund, {})
                logger.info("reservation refused; order cancelled", reason=decision.reason)
        if order.reservation_status != previous_status:
            await store.save(conn, order)
            await rollup.apply(conn, merchant_id, before, rollup.contribution(order))
