"""Beat's periodic jobs and the sales export, run by a real worker against the real services:
alerts are published once per item per period however often the job runs; the CSV
holds every order line of the period, read through the orders API."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import redis

from services.worker import names
from services.worker.client import WorkerClient
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.money import from_decimal
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc
from tests.support import servers
from tests.support.processes import ServiceProcess
from tests.worker import shop
from tests.worker.workers import CeleryWorker

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def orders(
    redis_url: str, prefix: str, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    with servers.fresh_database(pg_admin_url) as database_url:
        env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "STREAM_PREFIX": prefix}
        proc = ServiceProcess("orders", env, tmp_path_factory.mktemp("orders")).start()
        yield proc
        proc.stop()


def alerts(redis_url: str, prefix: str, merchant: str, kind: str) -> list[dict[bytes, bytes]]:
    client = redis.Redis.from_url(redis_url)
    entries = client.xrange(f"{prefix}:alerts")
    client.close()
    return [f for _, f in entries if f[b"merchant_id"] == merchant.encode() and f[b"kind"] == kind.encode()]


def place_orders(address: str, merchant: str, count: int) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = orders_pb2_grpc.OrdersServiceStub(channel)
        for i in range(count):
            stub.PlaceOrder(
                orders_pb2.PlaceOrderRequest(
                    mutation=Mutation(merchant_id=merchant, idempotency_key=f"o{i}"),
                    lines=[
                        orders_pb2.OrderLine(
                            sku="ITEM00008",
                            title="红色T恤",
                            quantity=2,
                            unit_price=from_decimal(shop.price_of(i), "CNY"),
                        ),
                        orders_pb2.OrderLine(
                            sku="ITEM00007",
                            title="马克杯",
                            quantity=1,
                            unit_price=from_decimal(shop.price_of(i + 1), "CNY"),
                        ),
                    ],
                    currency_code="CNY",
                    paid=True,
                ),
                timeout=10,
            )


def test_low_stock_alerts_once_per_sku_per_period(
    catalog: ServiceProcess, redis_url: str, prefix: str, client: WorkerClient,
    start_worker: Callable[..., CeleryWorker], merchant: str,
) -> None:  # fmt: skip
    shop.create_skus(catalog.address, merchant, "袜子", "SOCK", 30)  # quantities 0..8, repeating
    start_worker("w1", WORKER_MERCHANTS=merchant, LOW_STOCK_THRESHOLD="3")
    low = {f"SOCK{i:05d}" for i in range(30) if i % 9 < 3}

    assert client.app.send_task(names.LOW_STOCK_ALERTS).get(timeout=60) == len(low)
    assert client.app.send_task(names.LOW_STOCK_ALERTS).get(timeout=60) == 0, "alerted twice in one period"

    sent = alerts(redis_url, prefix, merchant, "low_stock")
    assert sorted(f[b"sku"].decode() for f in sent) == sorted(low)


def test_unshipped_reminders_and_sales_export(
    catalog: ServiceProcess, orders: ServiceProcess, redis_url: str, prefix: str, client: WorkerClient,
    start_worker: Callable[..., CeleryWorker], merchant: str,
) -> None:  # fmt: skip
    # The catalog holds the stock (the orders service reserves it there, else it cancels the order).
    shop.create_skus(catalog.address, merchant, "商品", "ITEM", 9)  # ITEM00007: 7 units, ITEM00008: 8
    place_orders(orders.address, merchant, 3)
    start_worker("w1", WORKER_MERCHANTS=merchant, ORDERS_ADDR=orders.address, UNSHIPPED_REMINDER_HOURS="0.0001")

    assert client.app.send_task(names.UNSHIPPED_REMINDERS).get(timeout=60) == 3
    assert client.app.send_task(names.UNSHIPPED_REMINDERS).get(timeout=60) == 0
    assert len(alerts(redis_url, prefix, merchant, "unshipped_order")) == 3

    path = Path(client.submit_sales_export(merchant, "today", "Asia/Shanghai").get(timeout=60))
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6
    assert {r["sku"] for r in rows} == {"ITEM00007", "ITEM00008"}
    first = next(r for r in rows if r["sku"] == "ITEM00008" and r["unit_price"] == f"{shop.price_of(0):.2f}")
    assert first["quantity"] == "2" and first["line_total"] == f"{shop.price_of(0) * 2:.2f}"
    assert first["payment_status"] == "paid" and first["currency"] == "CNY"
    again = Path(client.submit_sales_export(merchant, "today", "Asia/Shanghai").get(timeout=60))
    assert again == path and not list(path.parent.glob(".*.part")), "a re-run leaves one file, no leftovers"
