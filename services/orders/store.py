"""Orders persistence. Every statement filters on merchant_id (tenancy): an order
of another shop is indistinguishable from one that does not exist."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from services.orders.model import Line, Order
from shopvoice.db import Conn
from shopvoice.errors import FailedPrecondition, InvalidArgument, NotFound

ORDER_COLUMNS = (
    "merchant_id, order_id, customer_ref, currency_code, total, refunded, payment_status, fulfillment_status,"
    " reservation_status, reservation_reason, cancel_reason, carrier, tracking_number, shipped_at, rating, review,"
    " created_at, version"
)


def parse_order_id(text: str) -> int:
    """Order ids are digits, as merchants say them ("1234")."""
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidArgument(f"order id {text!r} is not an order number (digits only)")
    return int(text)


async def last_order_id(conn: Conn, merchant_id: str) -> int:
    """The highest order number the merchant has issued (0 before its first order)."""
    cur = await conn.execute("SELECT last_order_id FROM merchants WHERE merchant_id = %s", (merchant_id,))
    row = await cur.fetchone()
    return int(row["last_order_id"]) if row else 0


async def next_order_id(conn: Conn, merchant_id: str, currency_code: str) -> int:
    """The merchant's next order number. The row lock serialises a shop's
    checkouts until commit, so numbers are sequential; a rolled-back checkout
    returns its number."""
    cur = await conn.execute(
        "INSERT INTO merchants AS m (merchant_id, last_order_id, currency_code) VALUES (%s, 1, %s)"
        " ON CONFLICT (merchant_id) DO UPDATE SET last_order_id = m.last_order_id + 1"
        " RETURNING last_order_id, currency_code",
        (merchant_id, currency_code),
    )
    row = await cur.fetchone()
    assert row is not None
    if row["currency_code"] != currency_code:
        raise FailedPrecondition(
            f"this shop sells in {row['currency_code']}; an order in {currency_code} cannot be placed"
        )
    return int(row["last_order_id"])


async def merchant_currency(conn: Conn, merchant_id: str) -> str | None:
    cur = await conn.execute("SELECT currency_code FROM merchants WHERE merchant_id = %s", (merchant_id,))
    row = await cur.fetchone()
    return str(row["currency_code"]) if row else None


async def insert(conn: Conn, order: Order) -> None:
    await conn.execute(
        "INSERT INTO orders (merchant_id, order_id, customer_ref, currency_code, total, units, payment_status,"
        " fulfillment_status, reservation_status, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            order.merchant_id,
            order.order_id,
            order.customer_ref,
            order.currency_code,
            order.total,
            order.units,
            order.payment_status,
            order.fulfillment_status,
            order.reservation_status,
            order.created_at,
        ),
    )
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO order_lines (merchant_id, order_id, line_no, sku, title, quantity, unit_price)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (order.merchant_id, order.order_id, ln.line_no, ln.sku, ln.title, ln.quantity, ln.unit_price)
                for ln in order.lines
            ],
        )
        # Last sold under this title (top products names a SKU by it); sorted: no deadlock.
        await cur.executemany(
            "INSERT INTO sku_titles (merchant_id, sku, title) VALUES (%s, %s, %s)"
            " ON CONFLICT (merchant_id, sku) DO UPDATE SET title = EXCLUDED.title"
            " WHERE sku_titles.title <> EXCLUDED.title",
            sorted({(order.merchant_id, ln.sku, ln.title) for ln in order.lines}),
        )


def _order(row: dict[str, Any], lines: list[Line]) -> Order:
    return Order(
        merchant_id=row["merchant_id"],
        order_id=row["order_id"],
        currency_code=row["currency_code"],
        total=row["total"],
        payment_status=row["payment_status"],
        fulfillment_status=row["fulfillment_status"],
        reservation_status=row["reservation_status"],
        created_at=row["created_at"],
        lines=lines,
        customer_ref=row["customer_ref"],
        refunded=row["refunded"],
        reservation_reason=row["reservation_reason"],
        cancel_reason=row["cancel_reason"],
        carrier=row["carrier"],
        tracking_number=row["tracking_number"],
        shipped_at=row["shipped_at"],
        rating=row["rating"],
        review=row["review"],
        version=row["version"],
    )


async def load(conn: Conn, merchant_id: str, order_id: int, *, for_update: bool = False) -> Order:
    """The order with its lines; NotFound for a missing id and for another shop's order alike."""
    lock = " FOR UPDATE" if for_update else ""
    cur = await conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE merchant_id = %s AND order_id = %s{lock}", (merchant_id, order_id)
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"order {order_id} not found in this shop")
    cur = await conn.execute(
        "SELECT line_no, sku, title, quantity, unit_price, restocked FROM order_lines"
        " WHERE merchant_id = %s AND order_id = %s ORDER BY line_no",
        (merchant_id, order_id),
    )
    lines = [Line(**r) for r in await cur.fetchall()]
    return _order(row, lines)


async def save(conn: Conn, order: Order) -> None:
    """Write back what the state machines may change, bumping the version."""
    await conn.execute(
        "UPDATE orders SET refunded = %s, payment_status = %s, fulfillment_status = %s, reservation_status = %s,"
        " reservation_reason = %s, cancel_reason = %s, carrier = %s, tracking_number = %s, shipped_at = %s,"
        " rating = %s, review = %s, updated_at = now(),"
        " version = version + 1 WHERE merchant_id = %s AND order_id = %s",
        (
            order.refunded,
            order.payment_status,
            order.fulfillment_status,
            order.reservation_status,
            order.reservation_reason,
            order.cancel_reason,
            order.carrier,
            order.tracking_number,
            order.shipped_at,
            order.rating,
            order.review,
            order.merchant_id,
            order.order_id,
        ),
    )
    order.version += 1


async def add_refund(conn: Conn, order: Order, amount: Decimal, restocked: dict[str, int], reason: str) -> str:
    """Record a refund and the units it put back on the shelf; returns its id."""
    for line in order.lines:
        take = min(restocked.get(line.sku, 0), line.quantity - line.restocked)
        if take:
            line.restocked += take
            await conn.execute(
                "UPDATE order_lines SET restocked = %s WHERE merchant_id = %s AND order_id = %s AND line_no = %s",
                (line.restocked, order.merchant_id, order.order_id, line.line_no),
            )
    cur = await conn.execute(
        "INSERT INTO refunds (merchant_id, order_id, amount, restock, restocked, reason)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING refund_id",
        (
            order.merchant_id,
            order.order_id,
            amount,
            bool(restocked),
            json.dumps([{"sku": s, "quantity": q} for s, q in sorted(restocked.items())]),
            reason,
        ),
    )
    row = await cur.fetchone()
    assert row is not None
    return str(row["refund_id"])


@dataclass
class RefundRow:
    refund_id: str
    amount: Decimal
    restock: bool
    restocked: list[dict[str, Any]]
    reason: str
    created_at: datetime


async def refunds(conn: Conn, merchant_id: str, order_id: int) -> list[RefundRow]:
    cur = await conn.execute(
        "SELECT refund_id::text, amount, restock, restocked, reason, created_at FROM refunds"
        " WHERE merchant_id = %s AND order_id = %s ORDER BY created_at, refund_id",
        (merchant_id, order_id),
    )
    return [RefundRow(**r) for r in await cur.fetchall()]


# list_orders filters, as a merchant says them.
FILTERS: dict[str, str] = {
    "pending": "payment_status = 'pending' AND fulfillment_status <> 'cancelled'",
    "unfulfilled": "fulfillment_status IN ('unfulfilled', 'confirmed')",  # waiting to ship
    "shipped": "fulfillment_status IN ('shipped', 'delivered')",
    "refunded": "payment_status IN ('refunded', 'partially_refunded')",
    "cancelled": "fulfillment_status = 'cancelled'",
}


async def list_orders(
    conn: Conn,
    merchant_id: str,
    status: str | None,
    period: tuple[datetime, datetime] | None,
    page_size: int,
    before_id: int | None,
) -> tuple[list[Order], int]:
    """A page of orders, newest first (keyset on order_id), and the count of all that match."""
    where = ["merchant_id = %s"]
    args: list[Any] = [merchant_id]
    if status:
        where.append(FILTERS[status])
    if period:
        where.append("created_at >= %s AND created_at < %s")
        args += list(period)
    condition = " AND ".join(where)
    count_row = await (await conn.execute(f"SELECT count(*) AS n FROM orders WHERE {condition}", args)).fetchone()
    page_where = condition + (" AND order_id < %s" if before_id is not None else "")
    page_args = [*args, *([before_id] if before_id is not None else []), page_size]
    cur = await conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM orders WHERE {page_where} ORDER BY order_id DESC LIMIT %s", page_args
    )
    rows = await cur.fetchall()
    ids = [r["order_id"] for r in rows]
    lines: dict[int, list[Line]] = {i: [] for i in ids}
    if ids:
        cur = await conn.execute(
            "SELECT order_id, line_no, sku, title, quantity, unit_price, restocked FROM order_lines"
            " WHERE merchant_id = %s AND order_id = ANY(%s) ORDER BY order_id, line_no",
            (merchant_id, ids),
        )
        for r in await cur.fetchall():
            order_id = r.pop("order_id")
            lines[order_id].append(Line(**r))
    assert count_row is not None
    return [_order(r, lines[r["order_id"]]) for r in rows], int(count_row["n"])
