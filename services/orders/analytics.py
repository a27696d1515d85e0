"""Sales reports: whole UTC days from the daily rollup (rollup.py), and the less
than a day at each end of the period from the orders themselves (the
orders_by_created index), with the same definitions as rollup.contribution.
Exact in every time zone, and a handful of index range scans whatever the size
of the shop's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.orders.rollup import SHOP, Figures
from shopvoice.db import Conn

DAY = timedelta(days=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOP_N = 10


@dataclass
class TopProduct:
    sku: str
    title: str
    units: int
    revenue: Decimal


@dataclass
class Span:
    """The whole UTC days of a period, and its ragged ends (read from orders)."""

    days: tuple[datetime, datetime] | None
    edges: list[tuple[datetime, datetime]]


def split(start: datetime, end: datetime) -> Span:
    first_day = EPOCH - ((EPOCH - start) // DAY) * DAY  # ceiling to 00:00 UTC
    last_day = EPOCH + ((end - EPOCH) // DAY) * DAY  # floor
    if first_day >= last_day:
        return Span(None, [(start, end)])
    edges = [(lo, hi) for lo, hi in ((start, first_day), (last_day, end)) if lo < hi]
    return Span((first_day, last_day), edges)


# One order's contribution, as rollup.contribution computes it, for orders in [%s, %s).
EDGE_SHOP = (
    "SELECT count(*) FILTER (WHERE payment_status <> 'refunded') AS orders,"
    " coalesce(sum(units) FILTER (WHERE payment_status <> 'refunded'), 0) AS units,"
    " coalesce(sum(total - refunded), 0) AS revenue, coalesce(sum(rating), 0) AS rating_sum,"
    " count(rating) AS rating_count"
    " FROM orders WHERE merchant_id = %s AND created_at >= %s AND created_at < %s AND payment_status <> 'voided'"
)
# Per order and SKU: units, and the SKU's share of the net (half up to 4 places).
ORDER_SKUS = (
    "SELECT l.sku, o.payment_status <> 'refunded' AS standing, o.rating, sum(l.quantity) AS units,"
    " coalesce(sum(round(l.unit_price * l.quantity * (o.total - o.refunded) / nullif(o.total, 0), 4)), 0) AS revenue"
    " FROM orders o JOIN order_lines l ON l.merchant_id = o.merchant_id AND l.order_id = o.order_id"
    " WHERE o.merchant_id = %s AND o.created_at >= %s AND o.created_at < %s AND o.payment_status <> 'voided'"
)
EDGE_SKU = (
    "SELECT count(*) FILTER (WHERE standing) AS orders, coalesce(sum(units) FILTER (WHERE standing), 0) AS units,"
    " coalesce(sum(revenue), 0) AS revenue, coalesce(sum(rating), 0) AS rating_sum, count(rating) AS rating_count"
    f" FROM ({ORDER_SKUS} AND l.sku = %s GROUP BY o.order_id, l.sku, o.payment_status, o.rating) AS s"
)
EDGE_TOP = (
    "SELECT sku, coalesce(sum(units) FILTER (WHERE standing), 0) AS units, sum(revenue) AS revenue"
    f" FROM ({ORDER_SKUS} GROUP BY o.order_id, l.sku, o.payment_status, o.rating) AS s GROUP BY sku"
)
DAYS = (
    "SELECT orders, units, revenue, rating_sum, rating_count FROM sales_daily"
    " WHERE merchant_id = %s AND sku = %s AND day >= %s AND day < %s"
)
DAYS_TOP = "SELECT sku, units, revenue FROM sales_daily WHERE merchant_id = %s AND day >= %s AND day < %s AND sku <> %s"


def totals_query(merchant_id: str, sku: str | None, start: datetime, end: datetime) -> tuple[str, list[Any]]:
    span = split(start, end)
    parts: list[str] = []
    args: list[Any] = []
    if span.days:
        parts.append(DAYS)
        args += [merchant_id, sku or SHOP, *span.days]
    for lo, hi in span.edges:
        parts.append(EDGE_SKU if sku else EDGE_SHOP)
        args += [merchant_id, lo, hi, *([sku] if sku else [])]
    sql = (
        "SELECT coalesce(sum(orders), 0) AS orders, coalesce(sum(units), 0) AS units,"
        " coalesce(sum(revenue), 0) AS revenue, coalesce(sum(rating_sum), 0) AS rating_sum,"
        f" coalesce(sum(rating_count), 0) AS rating_count FROM ({' UNION ALL '.join(parts)}) AS t"
    )
    return sql, args


def top_query(merchant_id: str, start: datetime, end: datetime, limit: int = TOP_N) -> tuple[str, list[Any]]:
    span = split(start, end)
    parts: list[str] = []
    args: list[Any] = []
    if span.days:
        parts.append(DAYS_TOP)
        args += [merchant_id, *span.days, SHOP]
    for lo, hi in span.edges:
        parts.append(EDGE_TOP)
        args += [merchant_id, lo, hi]
    sql = (
        f"SELECT t.sku, sum(t.units) AS units, sum(t.revenue) AS revenue FROM ({' UNION ALL '.join(parts)}) AS t"
        " GROUP BY t.sku HAVING sum(t.units) > 0 ORDER BY units DESC, revenue DESC, t.sku LIMIT %s"
    )
    return sql, [*args, limit]


# Every report reads a few thousand rows at most: starting parallel workers would
# cost more (~10 ms) than the whole query, so reports run without them.
NO_PARALLEL = "SET LOCAL max_parallel_workers_per_gather = 0"

TITLES = "SELECT sku, title FROM sku_titles WHERE merchant_id = %s AND sku = ANY(%s)"


async def totals(conn: Conn, merchant_id: str, sku: str | None, start: datetime, end: datetime) -> Figures:
    sql, args = totals_query(merchant_id, sku, start, end)
    async with conn.transaction():
        await conn.execute(NO_PARALLEL)
        row = await (await conn.execute(sql, args)).fetchone()
    assert row is not None
    return Figures(
        int(row["orders"]), int(row["units"]), row["revenue"], int(row["rating_sum"]), int(row["rating_count"])
    )


async def top_products(conn: Conn, merchant_id: str, start: datetime, end: datetime) -> list[TopProduct]:
    sql, args = top_query(merchant_id, start, end)
    async with conn.transaction():
        await conn.execute(NO_PARALLEL)
        rows = await (await conn.execute(sql, args)).fetchall()
    if not rows:
        return []
    titles_cur = await conn.execute(TITLES, (merchant_id, [r["sku"] for r in rows]))
    titles = {r["sku"]: r["title"] for r in await titles_cur.fetchall()}
    return [TopProduct(r["sku"], titles.get(r["sku"], ""), int(r["units"]), r["revenue"]) for r in rows]
