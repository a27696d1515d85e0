"""Sales reports from the rollup (see rollup.py): a handful of index range scans
whatever the shop's size, never a scan over its orders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from services.orders.rollup import SHOP
from shopvoice.db import Conn
from shopvoice.errors import InvalidArgument

QUARTER = timedelta(minutes=15)
DAY = timedelta(days=1)
TOP_N = 10


@dataclass
class Totals:
    orders: int = 0
    units: int = 0
    revenue: Decimal = Decimal(0)
    rating_sum: int = 0
    rating_count: int = 0

    @property
    def avg_rating(self) -> float:
        return self.rating_sum / self.rating_count if self.rating_count else 0.0


@dataclass
class TopProduct:
    sku: str
    title: str
    units: int
    revenue: Decimal


@dataclass
class Report:
    totals: Totals
    top: list[TopProduct] = field(default_factory=list)


def bucket_ranges(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """Cover [start, end) with whole UTC days and the quarter hours at the edges."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    if (start - epoch) % QUARTER or (end - epoch) % QUARTER:
        raise InvalidArgument("this time zone's offset is not a whole quarter hour; reports cannot use it")
    first_day = epoch + -((epoch - start) // DAY) * DAY  # ceiling to a UTC day
    last_day = epoch + ((end - epoch) // DAY) * DAY  # floor
    if first_day >= last_day:
        return [("q", start, end)]
    ranges = [("q", start, first_day), ("d", first_day, last_day), ("q", last_day, end)]
    return [r for r in ranges if r[1] < r[2]]


def _ranges_sql(select: str, ranges: list[tuple[str, datetime, datetime]], sku_filter: str) -> tuple[str, list[Any]]:
    parts, args = [], []
    for grain, lo, hi in ranges:
        parts.append(
            f"SELECT {select} FROM sales_rollup WHERE merchant_id = %s {sku_filter}"
            " AND grain = %s AND bucket >= %s AND bucket < %s"
        )
        args.append((grain, lo, hi))
    return " UNION ALL ".join(parts), args


def totals_query(merchant_id: str, sku: str | None, start: datetime, end: datetime) -> tuple[str, list[Any]]:
    ranges = bucket_ranges(start, end)
    inner, spans = _ranges_sql("orders, units, revenue, rating_sum, rating_count", ranges, "AND sku = %s")
    args: list[Any] = []
    for grain, lo, hi in spans:
        args += [merchant_id, sku or SHOP, grain, lo, hi]
    sql = (
        "SELECT coalesce(sum(orders), 0) AS orders, coalesce(sum(units), 0) AS units,"
        " coalesce(sum(revenue), 0) AS revenue, coalesce(sum(rating_sum), 0) AS rating_sum,"
        f" coalesce(sum(rating_count), 0) AS rating_count FROM ({inner}) AS t"
    )
    return sql, args


def top_query(merchant_id: str, start: datetime, end: datetime, limit: int = TOP_N) -> tuple[str, list[Any]]:
    ranges = bucket_ranges(start, end)
    inner, spans = _ranges_sql("sku, units, revenue", ranges, "AND sku <> %s")
    args: list[Any] = []
    for grain, lo, hi in spans:
        args += [merchant_id, SHOP, grain, lo, hi]
    sql = (
        f"SELECT t.sku, sum(t.units) AS units, sum(t.revenue) AS revenue FROM ({inner}) AS t"
        " GROUP BY t.sku HAVING sum(t.units) > 0 ORDER BY units DESC, revenue DESC, t.sku LIMIT %s"
    )
    return sql, [*args, limit]


TITLES = (
    "SELECT s.sku, l.title FROM unnest(%s::text[]) AS s(sku) CROSS JOIN LATERAL"
    " (SELECT title FROM order_lines WHERE merchant_id = %s AND sku = s.sku ORDER BY order_id DESC LIMIT 1) AS l"
)


async def totals(conn: Conn, merchant_id: str, sku: str | None, start: datetime, end: datetime) -> Totals:
    sql, args = totals_query(merchant_id, sku, start, end)
    row = await (await conn.execute(sql, args)).fetchone()
    assert row is not None
    return Totals(
        int(row["orders"]), int(row["units"]), row["revenue"], int(row["rating_sum"]), int(row["rating_count"])
    )


async def top_products(conn: Conn, merchant_id: str, start: datetime, end: datetime) -> list[TopProduct]:
    sql, args = top_query(merchant_id, start, end)
    rows = await (await conn.execute(sql, args)).fetchall()
    if not rows:
        return []
    titles_cur = await conn.execute(TITLES, ([r["sku"] for r in rows], merchant_id))
    titles = {r["sku"]: r["title"] for r in await titles_cur.fetchall()}
    return [TopProduct(r["sku"], titles.get(r["sku"], ""), int(r["units"]), r["revenue"]) for r in rows]
