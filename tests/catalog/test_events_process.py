"""Events against the real process: the outbox relay survives a crash and publishes
every event; the orders service's events reserve, release, ship and restock, once
each however often they arrive; an unreadable entry ends in the dead-letter stream."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import redis

from shopvoice import outbox
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.events.v1 import events_pb2
from tests.catalog.shop import create, money, mutation
from tests.support.processes import ServiceProcess

Stub = catalog_pb2_grpc.CatalogServiceStub


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {check}")
        time.sleep(0.05)


def catalog_events(r: redis.Redis, prefix: str) -> list[events_pb2.Event]:
    return [outbox.decode(fields) for _id, fields in r.xrange(f"{prefix}:events:catalog")]


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_the_relay_publishes_what_was_written_while_redis_was_away_after_a_crash(
    database_url: str, redis_url: str, stream_prefix: str, tmp_path: Path, r: redis.Redis
) -> None:
    env = {"DATABASE_URL": database_url, "STREAM_PREFIX": stream_prefix}
    # Redis unreachable: the changes commit (with their events in the outbox), nothing is relayed.
    blind = ServiceProcess("catalog", {**env, "REDIS_URL": "redis://127.0.0.1:1/0"}, tmp_path).start()
    with grpc.insecure_channel(blind.address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        create(stub, "m1", sku="A100", price="10")
        changes = [
            stub.SetPrice(pb.SetPriceRequest(mutation=mutation("m1"), sku="A100", price=money(str(p)))).change_id
            for p in (11, 12, 13)
        ]
    blind.kill()  # SIGKILL: no clean shutdown
    assert r.xlen(f"{stream_prefix}:events:catalog") == 0

    healed = ServiceProcess("catalog", {**env, "REDIS_URL": redis_url}, tmp_path).start()
    try:
        events = eventually(lambda: (e := catalog_events(r, stream_prefix)) and len(e) >= 4 and e)
    finally:
        assert healed.stop() == 0, healed.log()
    assert [e.WhichOneof("payload") for e in events] == [
        "product_changed",
        "price_changed",
        "price_changed",
        "price_changed",
    ]
    assert [e.price_changed.change_id for e in events[1:]] == changes
    assert events[3].price_changed.old_price.units == 12 and events[3].price_changed.new_price.units == 13
    assert all(e.merchant_id == "m1" for e in events)


def publish_order_event(r: redis.Redis, prefix: str, merchant: str, event_id: str = "", **payload: Any) -> str:
    event = outbox.new_event(merchant)
    if event_id:
        event.event_id = event_id
    for name, message in payload.items():
        getattr(event, name).CopyFrom(message)
    r.xadd(f"{prefix}:events:orders", {"event": event.SerializeToString()})
    return event.event_id


def test_order_events_reserve_release_ship_and_restock_once_each(
    catalog_process: ServiceProcess, stub: Stub, merchant: str, module_streams: str, r: redis.Redis
) -> None:
    create(stub, merchant, sku="A", quantity=10)
    create(stub, merchant, sku="B", quantity=2)

    def stock(sku: str) -> tuple[int, int]:
        inv = stub.GetStock(pb.GetStockRequest(merchant_id=merchant, sku=sku)).inventory
        return inv.on_hand, inv.committed

    def decisions() -> dict[str, events_pb2.ReservationDecided]:
        return {
            e.reservation_decided.order_id: e.reservation_decided
            for e in catalog_events(r, module_streams)
            if e.merchant_id == merchant and e.WhichOneof("payload") == "reservation_decided"
        }

    line = events_pb2.EventLine
    placed = events_pb2.OrderPlaced(order_id="1001", lines=[line(sku="A", quantity=3), line(sku="B", quantity=1)])
    event_id = publish_order_event(r, module_streams, merchant, order_placed=placed)
    publish_order_event(r, module_streams, merchant, event_id=event_id, order_placed=placed)  # redelivered
    publish_order_event(
        r,
        module_streams,
        merchant,
        order_placed=events_pb2.OrderPlaced(order_id="1002", lines=[line(sku="B", quantity=5)]),
    )
    publish_order_event(
        r,
        module_streams,
        merchant,
        order_placed=events_pb2.OrderPlaced(order_id="1003", lines=[line(sku="A", quantity=2)]),
    )
    got = eventually(lambda: len(d := decisions()) == 3 and d)
    assert got["1001"].accepted and got["1003"].accepted
    assert not got["1002"].accepted and "B: 1 available, 5 ordered" in got["1002"].reason
    eventually(lambda: stock("A") == (10, 5) and stock("B") == (2, 1))

    publish_order_event(r, module_streams, merchant, order_shipped=events_pb2.OrderShipped(order_id="1001"))
    publish_order_event(
        r,
        module_streams,
        merchant,
        order_cancelled=events_pb2.OrderCancelled(order_id="1003", lines=[line(sku="A", quantity=2)]),
    )
    eventually(lambda: stock("A") == (7, 0) and stock("B") == (1, 0))
    refund = events_pb2.OrderRefunded(order_id="1001", restock=True, lines=[line(sku="A", quantity=3)])
    refund_id = publish_order_event(r, module_streams, merchant, order_refunded=refund)
    publish_order_event(r, module_streams, merchant, event_id=refund_id, order_refunded=refund)  # redelivered
    eventually(lambda: stock("A") == (10, 0))
    time.sleep(0.3)  # a second application would show by now
    assert stock("A") == (10, 0) and stock("B") == (1, 0)
    assert len(decisions()) == 3


def test_an_unreadable_order_event_is_dead_lettered_not_dropped(
    database_url: str, redis_url: str, stream_prefix: str, tmp_path: Path, r: redis.Redis
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STREAM_PREFIX": stream_prefix,
        "STREAM_MAX_DELIVERIES": "2",
        "STREAM_CLAIM_IDLE_MS": "100",
    }
    proc = ServiceProcess("catalog", env, tmp_path).start()
    try:
        r.xadd(f"{stream_prefix}:events:orders", {"event": b"\xff not a protobuf"})
        dead = eventually(lambda: r.xrange(f"{stream_prefix}:events:orders:dead"))
    finally:
        assert proc.stop() == 0, proc.log()
    assert dead[0][1][b"event"] == b"\xff not a protobuf" and dead[0][1][b"dead_group"] == b"catalog"
