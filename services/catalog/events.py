"""The catalog's events, written to the outbox in the transaction of the change
they announce (so an event exists if and only if its change committed)."""

from __future__ import annotations

from decimal import Decimal

from services.catalog.messages import STATUS_FROM_DB, Row
from shopvoice import outbox
from shopvoice.db import Conn
from shopvoice.events.v1 import events_pb2
from shopvoice.money import from_decimal


class CatalogEvents:
    """Writes catalog events to the outbox, bound for `{STREAM_PREFIX}:events:catalog`."""

    def __init__(self, stream: str) -> None:
        self.stream = stream

    @staticmethod
    def price_changed_event(
        merchant_id: str, sku: str, old: Decimal, new: Decimal, currency: str, change_id: str
    ) -> events_pb2.Event:
        event = outbox.new_event(merchant_id)
        change = event.price_changed
        change.sku = sku
        change.old_price.CopyFrom(from_decimal(old, currency))
        change.new_price.CopyFrom(from_decimal(new, currency))
        change.change_id = change_id
        return event

    @staticmethod
    def stock_changed_event(
        merchant_id: str, sku: str, on_hand: int, committed: int, change_id: str = ""
    ) -> events_pb2.Event:
        event = outbox.new_event(merchant_id)
        change = event.stock_changed
        change.sku = sku
        change.on_hand = on_hand
        change.committed = committed
        change.available = on_hand - committed
        change.change_id = change_id
        return event

    async def price_changed(
        self, conn: Conn, merchant_id: str, sku: str, old: Decimal, new: Decimal, currency: str, change_id: str
    ) -> None:
        await outbox.enqueue(
            conn, self.stream, self.price_changed_event(merchant_id, sku, old, new, currency, change_id)
        )

    async def stock_changed(
        self, conn: Conn, merchant_id: str, sku: str, on_hand: int, committed: int, change_id: str = ""
    ) -> None:
        await outbox.enqueue(
            conn, self.stream, self.stock_changed_event(merchant_id, sku, on_hand, committed, change_id)
        )

    async def product_changed(self, conn: Conn, merchant_id: str, rows: list[Row], status: str | None = None) -> None:
        first = rows[0]
        event = outbox.new_event(merchant_id)
        event.product_changed.CopyFrom(
            events_pb2.ProductChanged(
                product_id=str(first["product_id"]),
                skus=sorted(r["sku"] for r in rows),
                title=first["title"],
                status=STATUS_FROM_DB[status or first["status"]],
            )
        )
        await outbox.enqueue(conn, self.stream, event)

    async def reservation_decided(
        self, conn: Conn, merchant_id: str, order_id: str, accepted: bool, reason: str
    ) -> None:
        event = outbox.new_event(merchant_id)
        event.reservation_decided.CopyFrom(
            events_pb2.ReservationDecided(order_id=order_id, accepted=accepted, reason=reason)
        )
        await outbox.enqueue(conn, self.stream, event)
