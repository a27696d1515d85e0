"""The daily sales rollup (sales_daily): what each order contributes to the
reports, kept in step with the order in the same transaction.

Every change to an order subtracts its old contribution and adds its new one,
so the rollup is always the sum over orders of `contribution(order)` without a
separate recount. Definitions (net of refunds, order-date basis):

- revenue: total less refunds, for every order whose payment was not voided;
  a SKU's share is its line amount scaled by the same net/total ratio;
- orders, units: orders still standing (not voided, not fully refunded);
- rating: ratings of orders whose payment was not voided.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from services.orders.model import Order
from shopvoice.db import Conn

SHOP = "*"  # the sku of the whole-shop row
FOUR_PLACES = Decimal("0.0001")  # rounded half up, as Postgres round() does (analytics.EDGE_SKU)


@dataclass
class Figures:
    """Sales figures: one order's contribution, a day's rollup row, or a report's totals."""

    orders: int = 0
    units: int = 0
    revenue: Decimal = Decimal(0)
    rating_sum: int = 0
    rating_count: int = 0

    @property
    def avg_rating(self) -> float:
        return self.rating_sum / self.rating_count if self.rating_count else 0.0

    def minus(self, other: Figures) -> Figures:
        return Figures(
            self.orders - other.orders,
            self.units - other.units,
            self.revenue - other.revenue,
            self.rating_sum - other.rating_sum,
            self.rating_count - other.rating_count,
        )

    def is_zero(self) -> bool:
        return not (self.orders or self.units or self.revenue or self.rating_sum or self.rating_count)


@dataclass
class Contribution:
    created_at: datetime
    by_sku: dict[str, Figures] = field(default_factory=dict)  # includes SHOP


def contribution(order: Order) -> Contribution:
    result = Contribution(order.created_at)
    if order.payment_status == "voided":
        return result
    standing = order.payment_status != "refunded"
    net = order.total - order.refunded
    rating = (order.rating, 1) if order.rating else (0, 0)
    result.by_sku[SHOP] = Figures(int(standing), order.units if standing else 0, net, *rating)
    per_sku: dict[str, Figures] = defaultdict(Figures)
    for line in order.lines:
        figures = per_sku[line.sku]
        share = (line.amount * net / order.total).quantize(FOUR_PLACES, ROUND_HALF_UP) if order.total else Decimal(0)
        figures.revenue += share
        if standing:
            figures.units += line.quantity
    for sku, figures in per_sku.items():
        figures.orders = int(standing)
        figures.rating_sum, figures.rating_count = rating
        result.by_sku[sku] = figures
    return result


def utc_day(at: datetime) -> datetime:
    """The UTC day an instant falls in (its 00:00 UTC)."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


UPSERT = (
    "INSERT INTO sales_daily AS r (merchant_id, day, sku, orders, units, revenue, rating_sum, rating_count)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (merchant_id, day, sku) DO UPDATE SET"
    " orders = r.orders + EXCLUDED.orders, units = r.units + EXCLUDED.units, revenue = r.revenue + EXCLUDED.revenue,"
    " rating_sum = r.rating_sum + EXCLUDED.rating_sum, rating_count = r.rating_count + EXCLUDED.rating_count"
)


async def apply(conn: Conn, merchant_id: str, before: Contribution | None, after: Contribution | None) -> None:
    """Move the rollup from `before` to `after` (None: the order did not exist)."""
    reference = after or before
    if reference is None:
        return
    old = before.by_sku if before else {}
    new = after.by_sku if after else {}
    day = utc_day(reference.created_at)
    rows = []
    # Sorted keys: concurrent transactions lock rollup rows in one order (no deadlock).
    for sku in sorted(old.keys() | new.keys()):
        delta = new.get(sku, Figures()).minus(old.get(sku, Figures()))
        if not delta.is_zero():
            d = delta
            rows.append((merchant_id, day, sku, d.orders, d.units, d.revenue, d.rating_sum, d.rating_count))
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(UPSERT, rows)
