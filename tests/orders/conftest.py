"""Fixtures of the orders tests: one real orders process per test module, shared
safely because every test is a merchant of its own (tenancy isolates them)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc
import psycopg
import pytest
import redis

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.events.v1 import events_pb2
from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc
from tests.support import servers
from tests.support.processes import ServiceProcess

T = TypeVar("T")


@pytest.fixture(scope="module")
def orders_db(pg_admin_url: str) -> Iterator[str]:
    with servers.fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture(scope="module")
def orders_prefix(redis_url: str) -> Iterator[str]:
    with servers.stream_namespace(redis_url) as prefix:
        yield prefix


def orders_env(database_url: str, redis_url: str, prefix: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STREAM_PREFIX": prefix,
        # Poison messages reach the dead-letter stream within a second in tests.
        "STREAM_CLAIM_IDLE_MS": "200",
        "STREAM_MAX_DELIVERIES": "2",
        "ORDERS_CONSUMER_NAME": "orders-test",
        **extra,
    }


@pytest.fixture(scope="module")
def orders_process(
    orders_db: str, redis_url: str, orders_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        "orders", orders_env(orders_db, redis_url, orders_prefix), tmp_path_factory.mktemp("orders")
    ).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(scope="module")
def stub(orders_process: ServiceProcess) -> Iterator[orders_pb2_grpc.OrdersServiceStub]:
    with grpc.insecure_channel(orders_process.address) as channel:
        yield orders_pb2_grpc.OrdersServiceStub(channel)


@pytest.fixture
def merchant() -> str:
    """A shop of this test's own."""
    return f"m-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def rds(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def mutation(merchant_id: str, key: str | None = None) -> Mutation:
    return Mutation(merchant_id=merchant_id, idempotency_key=key or uuid.uuid4().hex)


def line(sku: str, quantity: int, units: int, nanos: int = 0, title: str = "") -> pb.OrderLine:
    return pb.OrderLine(
        sku=sku, title=title or f"product {sku}", quantity=quantity, unit_price=Money(units=units, nanos=nanos)
    )


def place(
    stub: orders_pb2_grpc.OrdersServiceStub,
    merchant_id: str,
    *,
    paid: bool = True,
    lines: list[pb.OrderLine] | None = None,
    key: str | None = None,
) -> pb.Order:
    """An order of 2 × A100 at 50.00 and 1 × B200 at 20.00 (total 120.00) unless told otherwise."""
    request = pb.PlaceOrderRequest(
        mutation=mutation(merchant_id, key),
        lines=lines or [line("A100", 2, 50), line("B200", 1, 20)],
        customer_ref="cust-1",
        paid=paid,
    )
    return stub.PlaceOrder(request, timeout=5).order


def get(stub: orders_pb2_grpc.OrdersServiceStub, merchant_id: str, order_id: str) -> pb.Order:
    return stub.GetOrder(pb.GetOrderRequest(merchant_id=merchant_id, order_id=order_id), timeout=5)


def decide(
    rds: redis.Redis, prefix: str, merchant_id: str, order_id: str, accepted: bool, reason: str = "", event_id: str = ""
) -> str:
    """Publish the catalog's ReservationDecided, as the catalog would, onto real Redis."""
    event = events_pb2.Event(event_id=event_id or str(uuid.uuid4()), merchant_id=merchant_id)
    event.reservation_decided.CopyFrom(
        events_pb2.ReservationDecided(order_id=order_id, accepted=accepted, reason=reason)
    )
    rds.xadd(f"{prefix}:events:catalog", {"event": event.SerializeToString()})
    return event.event_id


def wait_for(probe: Callable[[], T | None], timeout: float = 10.0, what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_reservation(stub: orders_pb2_grpc.OrdersServiceStub, merchant_id: str, order_id: str, status: int) -> pb.Order:
    def probe() -> pb.Order | None:
        order = get(stub, merchant_id, order_id)
        return order if order.reservation_status == status else None

    return wait_for(probe, what=f"reservation {pb.ReservationStatus.Name(status)} on order {order_id}")


def reserved(
    stub: orders_pb2_grpc.OrdersServiceStub, rds: redis.Redis, prefix: str, merchant_id: str, **kwargs: Any
) -> pb.Order:
    """A placed order whose stock the catalog reserved."""
    order = place(stub, merchant_id, **kwargs)
    decide(rds, prefix, merchant_id, order.order_id, True)
    return wait_reservation(stub, merchant_id, order.order_id, pb.RESERVATION_STATUS_RESERVED)


def orders_events(
    rds: redis.Redis, prefix: str, merchant_id: str, order_id: str | None = None
) -> list[events_pb2.Event]:
    """Events the relay published on the orders stream for one shop (and order)."""
    found = []
    for _id, fields in rds.xrange(f"{prefix}:events:orders"):
        event = events_pb2.Event.FromString(fields[b"event"])
        if event.merchant_id != merchant_id:
            continue
        payload = getattr(event, event.WhichOneof("payload") or "")
        if order_id is None or payload.order_id == order_id:
            found.append(event)
    return found


def kinds(events: list[events_pb2.Event]) -> list[str]:
    return [e.WhichOneof("payload") or "" for e in events]


def db_row(database_url: str, sql: str, *args: Any) -> tuple[Any, ...] | None:
    with psycopg.connect(database_url) as conn:
        return conn.execute(sql, args).fetchone()


def wait_events(rds: redis.Redis, prefix: str, merchant_id: str, order_id: str, count: int) -> list[events_pb2.Event]:
    """Wait until the relay published `count` events of the order; returns them in stream order."""

    def probe() -> list[events_pb2.Event] | None:
        found = orders_events(rds, prefix, merchant_id, order_id)
        return found if len(found) >= count else None

    return wait_for(probe, what=f"{count} events of order {order_id}")
