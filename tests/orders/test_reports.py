"""sales_report: hand-computed figures through the real API, and a seeded history
whose every period agrees with sums computed straight from the orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import grpc
import psycopg
import pytest
import redis

from services.orders import analytics, periods, seed
from shopvoice.common.v1.command_pb2 import Metric, Period
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.money import to_decimal
from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc
from tests.orders.conftest import line, mutation, place, reserved

Stub = orders_pb2_grpc.OrdersServiceStub


def report(
    stub: Stub, m: str, metric: int, period: int, sku: str | None = None, tz: str = ""
) -> pb.SalesReportResponse:
    request = pb.SalesReportRequest(merchant_id=m, metric=metric, period=period, time_zone=tz)
    if sku is not None:
        request.sku = sku
    return stub.SalesReport(request, timeout=5)


def test_hand_computed_day(stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str) -> None:
    first = reserved(stub, rds, orders_prefix, merchant)  # 2 × A100 @ 50 + 1 × B200 @ 20 = 120, paid
    second = reserved(stub, rds, orders_prefix, merchant, lines=[line("A100", 3, 10, title="红色T恤")])  # 30, paid
    unpaid = place(stub, merchant, paid=False, lines=[line("B200", 1, 20)])
    stub.CancelOrder(pb.CancelOrderRequest(mutation=mutation(merchant), order_id=unpaid.order_id))  # voided: nothing
    stub.RefundOrder(
        pb.RefundOrderRequest(mutation=mutation(merchant), order_id=first.order_id, amount=Money(units=30))
    )
    stub.ShipOrder(pb.ShipOrderRequest(mutation=mutation(merchant), order_id=second.order_id))
    stub.RateOrder(pb.RateOrderRequest(mutation=mutation(merchant), order_id=second.order_id, rating=4))

    for tz in ("", "America/New_York", "Asia/Kathmandu"):  # +05:45: a quarter-hour zone
        today = report(stub, merchant, Metric.METRIC_REVENUE, Period.PERIOD_TODAY, tz=tz)
        assert today.revenue == Money(currency_code="CNY", units=120)  # (120 - 30) + 30
        assert (today.orders, today.units, today.avg_rating, today.rated_orders) == (2, 6, 4.0, 1)
    assert "revenue 120.00 CNY from 2 orders" in today.summary
    a100 = report(stub, merchant, Metric.METRIC_UNITS, Period.PERIOD_THIS_WEEK, sku="A100")
    assert (a100.units, a100.orders, to_decimal(a100.revenue)) == (5, 2, Decimal(105))  # 100 × 90/120 + 30
    top = report(stub, merchant, Metric.METRIC_TOP_PRODUCTS, Period.PERIOD_LAST_7_DAYS)
    assert [(t.sku, t.title, t.units, to_decimal(t.revenue)) for t in top.top_products] == [
        ("A100", "红色T恤", 5, Decimal(105)),
        ("B200", "product B200", 1, Decimal(15)),  # 20 × 90/120
    ]
    yesterday = report(stub, merchant, Metric.METRIC_ORDERS, Period.PERIOD_YESTERDAY)
    assert (yesterday.orders, yesterday.revenue.units) == (0, 0)
    # A full refund takes the order out of the count and its money out of revenue.
    stub.RefundOrder(pb.RefundOrderRequest(mutation=mutation(merchant), order_id=first.order_id))
    after = report(stub, merchant, Metric.METRIC_REVENUE, Period.PERIOD_THIS_MONTH)
    assert (after.revenue.units, after.orders, after.units) == (30, 1, 3)


def test_bad_report_requests(stub: Stub, merchant: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        report(stub, merchant, Metric.METRIC_REVENUE, Period.PERIOD_TODAY, tz="Mars/Olympus")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        report(stub, merchant, Metric.METRIC_REVENUE, Period.PERIOD_UNSPECIFIED)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_periods_are_local_midnights() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    now = datetime(2024, 3, 15, 1, 0, tzinfo=UTC)  # 09:00 on Friday 15 March in Shanghai
    start, end = periods.resolve(Period.PERIOD_LAST_MONTH, shanghai, now)
    assert (start, end) == (datetime(2024, 1, 31, 16, tzinfo=UTC), datetime(2024, 2, 29, 16, tzinfo=UTC))
    start, end = periods.resolve(Period.PERIOD_THIS_WEEK, shanghai, now)
    assert (start, end) == (datetime(2024, 3, 10, 16, tzinfo=UTC), datetime(2024, 3, 17, 16, tzinfo=UTC))
    start, end = periods.resolve(Period.PERIOD_YESTERDAY, shanghai, datetime(2024, 3, 14, 17, tzinfo=UTC))
    assert (start, end) == (datetime(2024, 3, 13, 16, tzinfo=UTC), datetime(2024, 3, 14, 16, tzinfo=UTC))
    span = analytics.split(datetime(2024, 2, 29, 16, tzinfo=UTC), datetime(2024, 3, 31, 16, tzinfo=UTC))
    assert span.days == (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC))
    assert span.edges == [
        (datetime(2024, 2, 29, 16, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
        (datetime(2024, 3, 31, tzinfo=UTC), datetime(2024, 3, 31, 16, tzinfo=UTC)),
    ]
    assert analytics.split(start, end).days is None  # one local day: all of it from orders


# Each period's bounds computed by Postgres itself, independently of periods.py.
PERIOD_SQL = {
    Period.PERIOD_TODAY: ("date_trunc('day', now() AT TIME ZONE %(tz)s)", "interval '1 day'"),
    Period.PERIOD_YESTERDAY: ("date_trunc('day', now() AT TIME ZONE %(tz)s) - interval '1 day'", "interval '1 day'"),
    Period.PERIOD_LAST_7_DAYS: (
        "date_trunc('day', now() AT TIME ZONE %(tz)s) - interval '6 days'",
        "interval '7 days'",
    ),
    Period.PERIOD_THIS_WEEK: ("date_trunc('week', now() AT TIME ZONE %(tz)s)", "interval '7 days'"),
    Period.PERIOD_THIS_MONTH: ("date_trunc('month', now() AT TIME ZONE %(tz)s)", "interval '1 month'"),
    Period.PERIOD_LAST_MONTH: (
        "date_trunc('month', now() AT TIME ZONE %(tz)s) - interval '1 month'",
        "interval '1 month'",
    ),
}


def expected(conn: psycopg.Connection, merchant: str, period: int, tz: str, sku: str | None) -> tuple:  # type: ignore[type-arg]
    """(orders, units, revenue, ratings, rating sum) straight from orders and lines."""
    start, length = PERIOD_SQL[period]
    bounds = f"(({start}) AT TIME ZONE %(tz)s)", f"(({start} + {length}) AT TIME ZONE %(tz)s)"
    sku_filter = (
        "AND EXISTS (SELECT 1 FROM orders.order_lines l"
        " WHERE l.merchant_id = o.merchant_id AND l.order_id = o.order_id AND l.sku = %(sku)s)"
        if sku
        else ""
    )
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE payment_status <> 'refunded'), count(rating), coalesce(sum(rating), 0)"
        f" FROM orders.orders o WHERE merchant_id = %(m)s AND payment_status <> 'voided'"
        f" AND created_at >= {bounds[0]} AND created_at < {bounds[1]} {sku_filter}",
        {"m": merchant, "tz": tz, "sku": sku},
    ).fetchone()
    lines = conn.execute(
        "SELECT coalesce(sum(l.quantity) FILTER (WHERE o.payment_status <> 'refunded'), 0),"
        " coalesce(sum(l.unit_price * l.quantity * (o.total - o.refunded) / o.total), 0)"
        " FROM orders.orders o JOIN orders.order_lines l ON l.merchant_id = o.merchant_id AND l.order_id = o.order_id"
        f" WHERE o.merchant_id = %(m)s AND o.payment_status <> 'voided'"
        f" AND o.created_at >= {bounds[0]} AND o.created_at < {bounds[1]}" + (" AND l.sku = %(sku)s" if sku else ""),
        {"m": merchant, "tz": tz, "sku": sku},
    ).fetchone()
    assert row is not None and lines is not None
    return row[0], lines[0], lines[1], row[1], row[2]


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/Los_Angeles"])
def test_seeded_history_matches_the_orders(stub: Stub, orders_db: str, merchant: str, tz: str) -> None:
    stats = seed.seed(orders_db, merchant, 4000, days=70, random_seed=7, now=datetime.now(UTC) - timedelta(minutes=5))
    assert stats.orders == 4000 and stats.lines > 4000
    best = report(stub, merchant, Metric.METRIC_TOP_PRODUCTS, Period.PERIOD_LAST_MONTH, tz=tz).top_products[0].sku
    with psycopg.connect(orders_db) as conn:
        for period in PERIOD_SQL:
            for sku in (None, best):
                got = report(stub, merchant, Metric.METRIC_REVENUE, period, sku=sku, tz=tz)
                orders, units, revenue, rated, rating_sum = expected(conn, merchant, period, tz, sku)
                label = f"{Period.Name(period)} {sku or 'shop'}"
                assert (got.orders, got.units, got.rated_orders) == (orders, units, rated), label
                # Per-SKU shares are rounded per line to 1/10000; the shop's revenue is exact.
                assert abs(to_decimal(got.revenue) - revenue) <= Decimal("0.01") * (1 if sku is None else 2), label
                if rated:
                    assert got.avg_rating == pytest.approx(rating_sum / rated, abs=0.005), label
        assert conn.execute(
            "SELECT count(*) FROM orders.orders WHERE merchant_id = %s AND reservation_status = 'none'", (merchant,)
        ).fetchone() == (4000,)
    month = report(stub, merchant, Metric.METRIC_REVENUE, Period.PERIOD_LAST_MONTH, tz=tz)
    assert month.orders > 500  # about a month of a 70-day history
