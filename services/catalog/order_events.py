"""The orders service's events, applied to inventory: OrderPlaced reserves,
OrderCancelled releases, OrderShipped commits, OrderRefunded (restock) restocks.

Each event is applied at most once: its event_id is marked processed in the same
transaction as its effect (the stream delivers at least once). An event that
cannot apply (an order we never reserved, stock that is gone) is logged and
acknowledged, since a retry would not change the answer; an event we cannot
read or a database failure raises, so the entry stays pending, is retried and
in the end dead-lettered by the StreamConsumer, never dropped.
"""

from __future__ import annotations

from opentelemetry import context as otel_context

from services.catalog import reservations
from services.catalog.events import CatalogEvents
from shopvoice import log, outbox, streams, tracing
from shopvoice.db import Conn, Pool
from shopvoice.errors import DomainError, InvalidArgument
from shopvoice.events.v1.events_pb2 import Event

CONSUMER = "catalog"


class OrderEvents:
    def __init__(self, pool: Pool, events: CatalogEvents) -> None:
        self.pool = pool
        self.events = events

    async def handle(self, entry_id: bytes, fields: streams.Fields) -> None:
        event = outbox.decode(fields)
        kind = event.WhichOneof("payload")
        if kind not in ("order_placed", "order_cancelled", "order_shipped", "order_refunded"):
            return
        logger = log.get().bind(component="order_events", event_id=event.event_id, kind=kind)
        if not event.merchant_id:
            logger.warning("order event without merchant_id ignored")
            return
        token = otel_context.attach(tracing.context_from_message(event.trace))
        try:
            async with self.pool.connection() as conn, conn.transaction():
                if await outbox.already_processed(conn, CONSUMER, event.event_id):
                    return
                try:
                    async with conn.transaction():  # a savepoint: a refusal undoes only the effect
                        await self._apply(conn, event)
                except DomainError as exc:
                    logger.warning("order event not applied", order_id=self._order_id(event), reason=str(exc))
        finally:
            otel_context.detach(token)

    @staticmethod
    def _order_id(event: Event) -> str:
        payload = getattr(event, event.WhichOneof("payload") or "order_placed")
        return str(payload.order_id)

    async def _apply(self, conn: Conn, event: Event) -> None:
        merchant_id = event.merchant_id
        kind = event.WhichOneof("payload")
        if kind == "order_placed":
            placed = event.order_placed
            try:
                lines = reservations.parse_lines((line.sku, line.quantity) for line in placed.lines)
            except InvalidArgument as exc:
                # The order still needs an answer, or it waits forever.
                await self.events.reservation_decided(conn, merchant_id, placed.order_id, False, str(exc))
                return
            await reservations.reserve(conn, self.events, merchant_id, placed.order_id, lines)
        elif kind == "order_cancelled":
            cancelled = event.order_cancelled
            # The cancellation names the order's lines; release whatever of them is still held.
            await reservations.release(conn, self.events, merchant_id, cancelled.order_id, {})
        elif kind == "order_shipped":
            await reservations.commit(conn, self.events, merchant_id, event.order_shipped.order_id)
        elif kind == "order_refunded" and event.order_refunded.restock:
            refunded = event.order_refunded
            lines = reservations.parse_lines(((line.sku, line.quantity) for line in refunded.lines), required=False)
            await reservations.restock(conn, self.events, merchant_id, refunded.order_id, lines)
