"""An orders process killed (SIGKILL) after its orders committed but before the
relay published their events: after a restart the events are delivered, once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import grpc
import redis

from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc
from tests.orders.conftest import db_row, orders_env, orders_events, place, wait_for
from tests.support.processes import ServiceProcess


def test_events_committed_before_a_kill_are_delivered_after_restart(
    database_url: str, redis_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    rds = redis.Redis.from_url(redis_url)
    held = ServiceProcess(
        "orders", orders_env(database_url, redis_url, stream_prefix, ORDERS_RELAY_ENABLED="0"), tmp_path
    ).start()
    with grpc.insecure_channel(held.address) as channel:
        stub = orders_pb2_grpc.OrdersServiceStub(channel)
        placed = [place(stub, "m1").order_id for _ in range(3)]
    assert db_row(database_url, "SELECT count(*) FROM orders.outbox WHERE published_at IS NULL") == (3,)
    assert rds.xlen(f"{stream_prefix}:events:orders") == 0
    held.kill()  # kill -9: no shutdown hook runs
    assert held.proc is not None and held.proc.returncode == -signal.SIGKILL

    restarted = ServiceProcess(
        "orders", orders_env(database_url, redis_url, stream_prefix), tmp_path, port=held.port
    ).start()
    try:
        events = wait_for(
            lambda: found if len(found := orders_events(rds, stream_prefix, "m1")) >= 3 else None,
            what="the three OrderPlaced events",
        )
        assert [e.order_placed.order_id for e in events] == placed
        time.sleep(0.5)  # a relay that republished would show a duplicate by now
        assert len(orders_events(rds, stream_prefix, "m1")) == 3
        assert db_row(database_url, "SELECT count(*) FROM orders.outbox WHERE published_at IS NULL") == (0,)
        with grpc.insecure_channel(restarted.address) as channel:  # the orders themselves survived too
            stub = orders_pb2_grpc.OrdersServiceStub(channel)
            assert stub.GetOrder(pb.GetOrderRequest(merchant_id="m1", order_id="3")).order_id == "3"
    finally:
        assert restarted.stop() == 0, restarted.log()
        rds.close()
