"""Demo data: a merchant's order history, fast enough for a million orders.

`shopvoice seed --orders N [--merchant M]` calls `seed` (as `python -m services.orders.seed` does). Orders are generated in
Python with shapes a real shop has (growth over time, weekends, the 618 and
Double 11 peaks, the Spring Festival lull, evening hours, popular and long-tail
products, cancellations, partial and full refunds, ratings), streamed to
Postgres with COPY, and then rolled up into the report table in one SQL pass
(the same definitions as rollup.contribution). Historical orders hold no stock
reservations (reservation_status 'none').
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import queue
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import psycopg

from services.orders.rollup import SHOP
from shopvoice import db
from shopvoice.config import DEFAULT_DATABASE_URL

SCHEMA = "orders"
MIGRATIONS = Path(__file__).parent / "migrations"
SHOP_ZONE = ZoneInfo("Asia/Shanghai")
CHUNK = 20_000
T = TypeVar("T")

PRODUCTS = [
    ("红色T恤", 5900), ("白色T恤", 4900), ("牛仔裤", 12900), ("连帽卫衣", 15900), ("运动短裤", 6900),
    ("羽绒服", 39900), ("帆布鞋", 8900), ("跑步鞋", 29900), ("棒球帽", 3900), ("双肩包", 19900),
    ("保温杯", 6900), ("蓝牙耳机", 19900), ("手机壳", 2990), ("数据线", 1990), ("充电宝", 9900),
    ("台灯", 12900), ("抱枕", 4990), ("毛巾", 1990), ("袜子三双装", 2990), ("围巾", 7900),
]  # fmt: skip
REVIEWS = ["很好", "质量不错", "物流很快", "还可以", "尺码偏小", "颜色和图片不一样", "good value", "fast delivery", ""]


@dataclass(frozen=True)
class Sku:
    sku: str
    title: str
    cents: int


@dataclass
class SeedStats:
    merchant_id: str
    orders: int
    lines: int
    first_order_id: int
    seconds: float


def catalog(count: int, rng: random.Random) -> list[Sku]:
    """SKUs A100... with a title and a price around its product's price."""
    skus = []
    for i in range(count):
        title, cents = PRODUCTS[i % len(PRODUCTS)]
        variant = i // len(PRODUCTS)
        price = max(100, round(cents * (1 + 0.1 * (variant % 5)) / 10) * 10 - 10 * (variant % 2))
        name = f"{title} {variant}号" if variant else title
        skus.append(Sku(f"{chr(ord('A') + i // 100)}{100 + i % 100}", name, price))
    return skus


def day_weight(day: datetime, start: datetime, span_days: int) -> float:
    """Relative orders per local day: growth, weekends, campaigns, holidays."""
    growth = 0.6 + 0.8 * (day - start).days / max(span_days, 1)
    weekly = 1.25 if day.weekday() >= 5 else 1.0
    md = (day.month, day.day)
    campaign = 4.0 if md == (11, 11) else 2.5 if md == (6, 18) else 1.6 if (11, 1) <= md <= (11, 12) else 1.0
    lull = 0.5 if day.month == 2 and day.day < 15 else 1.0  # around the Spring Festival
    return growth * weekly * campaign * lull


HOUR_WEIGHTS = [2, 1, 0.5, 0.3, 0.3, 0.5, 1, 2, 3, 4, 5, 5, 4, 4, 4, 4, 4, 4, 5, 6, 8, 9, 8, 5]


def timestamps(n: int, days: int, now: datetime, rng: random.Random) -> list[float]:
    """n order times over the last `days` local days (and today, up to now), ascending."""
    today = now.astimezone(SHOP_ZONE).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=days)
    day_list = [start + timedelta(days=i) for i in range(days + 1)]
    weights = [day_weight(d, start, days) for d in day_list]
    weights[-1] *= (now - today).total_seconds() / 86400  # today is not over
    picks = rng.choices(range(len(day_list)), weights=weights, k=n)
    hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=n)
    limit = now.timestamp() - 1
    stamps = []
    for d, h in zip(picks, hours, strict=True):
        at = day_list[d].timestamp() + h * 3600 + rng.random() * 3600
        stamps.append(min(at, limit - rng.random() * 600))
    stamps.sort()
    return stamps


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def four_places(value: int) -> str:
    """An amount in 1/10000 units as numeric text."""
    return f"{value // 10000}.{value % 10000:04d}"


@dataclass
class Rollup:
    """sales_daily rows, summed in integers (revenue in 1/10000) as the orders are made."""

    rows: dict[tuple[int, str], list[int]] = field(default_factory=dict)

    def add(self, day: int, sku: str, orders: int, units: int, revenue: int, rating: int) -> None:
        row = self.rows.get((day, sku))
        if row is None:
            row = self.rows[(day, sku)] = [0, 0, 0, 0, 0]
        row[0] += orders
        row[1] += units
        row[2] += revenue
        if rating:
            row[3] += rating
            row[4] += 1

    def copy_rows(self, merchant_id: str) -> Iterator[str]:
        for (day, sku), (orders, units, revenue, rating_sum, rating_count) in self.rows.items():
            stamp = datetime.fromtimestamp(day, UTC).isoformat()
            amount = four_places(revenue)
            yield f"{merchant_id}\t{stamp}\t{sku}\t{orders}\t{units}\t{amount}\t{rating_sum}\t{rating_count}\n"


def generate(
    merchant_id: str,
    n: int,
    first_id: int,
    days: int,
    now: datetime,
    rng: random.Random,
    skus: Sequence[Sku],
    rollup: Rollup,
) -> Iterator[tuple[list[str], list[str], list[str]]]:
    """Chunks of COPY text rows (orders, lines, refunds); the rollup is summed on the way,
    with rollup.contribution's definitions in integer arithmetic."""
    popularity = [1 / (rank + 1) ** 0.9 for rank in range(len(skus))]  # a few best sellers, a long tail
    stamps = timestamps(n, days, now, rng)
    now_ts = now.timestamp()
    counts = rng.choices((1, 2, 3), (70, 22, 8), k=n)
    picks = iter(rng.choices(skus, weights=popularity, k=sum(counts)))
    quantities = iter(rng.choices((1, 2, 3, 5), (80, 14, 4, 2), k=sum(counts)))
    ratings = rng.choices((5, 4, 3, 2, 1), (55, 25, 10, 4, 6), k=n)
    orders: list[str] = []
    lines: list[str] = []
    refunds: list[str] = []
    m = merchant_id
    random_ = rng.random
    for i, ts in enumerate(stamps):
        order_id = first_id + i
        created = datetime.fromtimestamp(ts, UTC).isoformat()
        age_days = (now_ts - ts) / 86400
        bought: list[tuple[Sku, int]] = [(next(picks), next(quantities)) for _ in range(counts[i])]
        total = sum(sku.cents * qty for sku, qty in bought)
        units = sum(qty for _sku, qty in bought)
        for line_no, (sku, qty) in enumerate(bought, start=1):
            lines.append(f"{m}\t{order_id}\t{line_no}\t{sku.sku}\t{sku.title}\t{qty}\t{money(sku.cents)}\t0\n")
        pay, ful, refunded, rating, review, cancel = "paid", "delivered", 0, 0, "", ""
        carrier = tracking = shipped = ""
        roll = random_()
        if roll < 0.03:  # cancelled before shipping: half never paid, half refunded in full
            ful, cancel = "cancelled", "cancelled by the merchant"
            pay, refunded = ("voided", 0) if random_() < 0.5 else ("refunded", total)
        else:
            if age_days < 2:
                ful = ("unfulfilled", "confirmed", "shipped")[min(2, int(random_() * 2.5))]
                if ful == "unfulfilled" and random_() < 0.1:
                    pay = "pending"
            elif age_days < 8 and random_() < 0.55:
                ful = "shipped"
            if ful in ("shipped", "delivered"):
                carrier, tracking, shipped = "SF", f"SF{order_id:010d}", created
            if ful == "delivered" and roll < 0.09:  # 6% refunded after delivery, most only in part
                refunded = total if random_() < 0.35 else max(1, total * rng.randint(10, 50) // 100)
                pay = "refunded" if refunded == total else "partially_refunded"
            if ful == "delivered" and random_() < 0.45:
                rating = ratings[i]
                review = REVIEWS[i % len(REVIEWS)]
        if refunded:
            restock = "f" if ful == "cancelled" else "t"
            reason = cancel or "customer return"
            refunds.append(f"{m}\t{order_id}\t{money(refunded)}\t{restock}\t{reason}\t{created}\n")
        orders.append(
            f"{m}\t{order_id}\tc{order_id % 9973}\tCNY\t{money(total)}\t{money(refunded)}\t{units}\t{pay}\t{ful}"
            f"\tnone\t{cancel}\t{carrier}\t{tracking}\t{shipped or NULL}\t{rating or NULL}\t{review}"
            f"\t{created}\t{created}\n"
        )
        if pay != "voided":
            day = int(ts // 86400) * 86400
            standing = int(pay != "refunded")
            net = total - refunded
            rollup.add(day, SHOP, standing, units * standing, net * 100, rating)
            per_sku: dict[str, list[int]] = {}
            for sku, qty in bought:
                # half up to 1/10000, as rollup.contribution and Postgres round()
                share = (2 * sku.cents * qty * 100 * net + total) // (2 * total) if total else 0
                entry = per_sku.setdefault(sku.sku, [0, 0])
                entry[0] += qty
                entry[1] += share
            for code, (qty, share) in per_sku.items():
                rollup.add(day, code, standing, qty * standing, share, rating)
        if len(orders) >= CHUNK:
            yield orders, lines, refunds
            orders, lines, refunds = [], [], []
    if orders:
        yield orders, lines, refunds


NULL = "\\N"
COPIES = (
    "COPY orders (merchant_id, order_id, customer_ref, currency_code, total, refunded, units, payment_status,"
    " fulfillment_status, reservation_status, cancel_reason, carrier, tracking_number, shipped_at, rating, review,"
    " created_at, updated_at) FROM STDIN",
    "COPY order_lines (merchant_id, order_id, line_no, sku, title, quantity, unit_price, restocked) FROM STDIN",
    "COPY refunds (merchant_id, order_id, amount, restock, reason, created_at) FROM STDIN",
)
ROLLUP_MERGE = (
    "INSERT INTO sales_daily AS r (merchant_id, day, sku, orders, units, revenue, rating_sum, rating_count)"
    " SELECT * FROM seed_daily ON CONFLICT (merchant_id, day, sku) DO UPDATE SET orders = r.orders + EXCLUDED.orders,"
    " units = r.units + EXCLUDED.units, revenue = r.revenue + EXCLUDED.revenue,"
    " rating_sum = r.rating_sum + EXCLUDED.rating_sum, rating_count = r.rating_count + EXCLUDED.rating_count"
)


def _copy(conn: psycopg.Connection[Any], statement: str, rows: Iterable[str]) -> None:
    with conn.cursor().copy(statement.encode()) as copy:
        batch: list[str] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))


def _ahead(chunks: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Run a generator in a thread of its own, a few chunks ahead: Python makes the
    next rows while Postgres ingests the last (the COPY waits release the GIL)."""
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)

    def produce() -> None:
        try:
            for chunk in chunks:
                box.put((True, chunk))
            box.put((False, None))
        except BaseException as exc:  # handed to the consumer, raised there
            box.put((False, exc))

    worker = threading.Thread(target=produce, name="seed-generator", daemon=True)
    worker.start()
    while True:
        more, item = box.get()
        if not more:
            worker.join()
            if item is not None:
                raise item
            return
        yield item


def seed(
    database_url: str,
    merchant_id: str,
    orders: int,
    *,
    days: int = 730,
    sku_count: int = 200,
    random_seed: int = 42,
    now: datetime | None = None,
) -> SeedStats:
    """Append `orders` historical orders to the merchant's history (creating the schema if needed)."""
    started = time.perf_counter()
    asyncio.run(db.provision(database_url, SCHEMA))
    asyncio.run(db.migrate(database_url, SCHEMA, MIGRATIONS))
    rng = random.Random(random_seed)
    now = now or datetime.now(UTC)
    skus = catalog(sku_count, rng)
    rollup = Rollup()
    line_count = 0
    with psycopg.connect(database_url, options=db.session_options(SCHEMA)) as conn:
        # Holding the merchant's number row makes a live checkout wait rather than collide.
        row = conn.execute(
            "INSERT INTO merchants AS m (merchant_id, last_order_id, currency_code) VALUES (%s, 0, 'CNY')"
            " ON CONFLICT (merchant_id) DO UPDATE SET last_order_id = m.last_order_id RETURNING last_order_id",
            (merchant_id,),
        ).fetchone()
        assert row is not None
        first_id = int(row[0]) + 1
        for chunk in _ahead(generate(merchant_id, orders, first_id, days, now, rng, skus, rollup)):
            for statement, rows in zip(COPIES, chunk, strict=True):
                if rows:
                    _copy(conn, statement, rows)
            line_count += len(chunk[1])
        conn.execute(
            "UPDATE merchants SET last_order_id = %s WHERE merchant_id = %s", (first_id + orders - 1, merchant_id)
        )
        conn.cursor().executemany(
            "INSERT INTO sku_titles (merchant_id, sku, title) VALUES (%s, %s, %s)"
            " ON CONFLICT (merchant_id, sku) DO UPDATE SET title = EXCLUDED.title",
            [(merchant_id, s.sku, s.title) for s in skus],
        )
        conn.execute("CREATE TEMP TABLE seed_daily (LIKE sales_daily) ON COMMIT DROP")
        _copy(conn, "COPY seed_daily FROM STDIN", rollup.copy_rows(merchant_id))
        conn.execute(ROLLUP_MERGE)
        conn.commit()
    with psycopg.connect(database_url, options=db.session_options(SCHEMA), autocommit=True) as conn:
        for table in ("orders", "order_lines", "sales_daily", "sku_titles"):
            conn.execute(f"VACUUM ANALYZE {table}".encode())
    return SeedStats(merchant_id, orders, line_count, first_id, time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopvoice seed", description="create a merchant's demo order history")
    parser.add_argument("--orders", type=int, required=True, help="how many orders to create")
    parser.add_argument("--merchant", default="demo", help="merchant id (default: demo)")
    parser.add_argument("--days", type=int, default=730, help="how far back the history goes (default: 730)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same shop)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    args = parser.parse_args(argv)
    if args.orders < 1 or args.days < 1:
        parser.error("--orders and --days must be positive")
    stats = seed(args.database_url, args.merchant, args.orders, days=args.days, random_seed=args.seed)
    print(describe(stats))
    return 0


def describe(stats: SeedStats) -> str:
    rate = stats.orders / stats.seconds if stats.seconds else math.inf
    return (
        f"seeded {stats.orders} orders ({stats.lines} lines) for merchant {stats.merchant_id},"
        f" ids {stats.first_order_id}-{stats.first_order_id + stats.orders - 1}, in {stats.seconds:.1f} s"
        f" ({rate:,.0f} orders/s)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
