"""The reservation saga, orders' side: the catalog's decisions are published onto
the real catalog events stream and the orders process reacts to them."""

from __future__ import annotations

import uuid

import grpc
import pytest
import redis

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.events.v1 import events_pb2
from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc
from shopvoice.redis_keys import RedisKeys
from tests.orders.conftest import decide, get, kinds, place, wait_events, wait_for, wait_reservation

Stub = orders_pb2_grpc.OrdersServiceStub


def test_order_placed_event_carries_the_lines(stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str) -> None:
    order = place(stub, merchant)
    [event] = wait_events(rds, orders_prefix, merchant, order.order_id, 1)
    assert event.WhichOneof("payload") == "order_placed"
    assert [(ln.sku, ln.quantity) for ln in event.order_placed.lines] == [("A100", 2), ("B200", 1)]
    assert event.merchant_id == merchant and uuid.UUID(event.event_id)


def test_accepted_reservation_marks_the_order_reserved(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str
) -> None:
    order = place(stub, merchant)
    decide(rds, orders_prefix, merchant, order.order_id, True)
    reserved = wait_reservation(stub, merchant, order.order_id, pb.RESERVATION_STATUS_RESERVED)
    assert reserved.fulfillment_status == pb.FULFILLMENT_STATUS_UNFULFILLED


def test_refused_reservation_cancels_and_refunds_a_paid_order(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str
) -> None:
    order = place(stub, merchant, paid=True)
    decide(rds, orders_prefix, merchant, order.order_id, False, "A100: only 1 available")
    refused = wait_reservation(stub, merchant, order.order_id, pb.RESERVATION_STATUS_REFUSED)
    assert refused.fulfillment_status == pb.FULFILLMENT_STATUS_CANCELLED
    assert refused.payment_status == pb.PAYMENT_STATUS_REFUNDED
    assert refused.refunded == Money(currency_code="CNY", units=120)
    assert refused.reservation_reason == "A100: only 1 available"
    assert refused.cancel_reason == "stock reservation refused: A100: only 1 available"
    assert [r.amount.units for r in refused.refunds] == [120]
    events = wait_events(rds, orders_prefix, merchant, order.order_id, 3)
    assert kinds(events) == ["order_placed", "order_refunded", "order_cancelled"]
    assert not events[2].order_cancelled.lines  # the catalog holds nothing: nothing to release


def test_refused_reservation_voids_an_unpaid_order(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str
) -> None:
    order = place(stub, merchant, paid=False)
    decide(rds, orders_prefix, merchant, order.order_id, False, "out of stock")
    refused = wait_reservation(stub, merchant, order.order_id, pb.RESERVATION_STATUS_REFUSED)
    assert (refused.fulfillment_status, refused.payment_status) == (
        pb.FULFILLMENT_STATUS_CANCELLED,
        pb.PAYMENT_STATUS_VOIDED,
    )
    assert not refused.refunds
    with pytest.raises(grpc.RpcError) as err:
        stub.ShipOrder(
            pb.ShipOrderRequest(mutation=Mutation(merchant_id=merchant, idempotency_key="s"), order_id=order.order_id)
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_decision_delivered_twice_is_applied_once(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str, orders_db: str
) -> None:
    order = place(stub, merchant)
    event_id = decide(rds, orders_prefix, merchant, order.order_id, False, "gone")
    wait_reservation(stub, merchant, order.order_id, pb.RESERVATION_STATUS_REFUSED)
    decide(rds, orders_prefix, merchant, order.order_id, False, "gone", event_id=event_id)  # redelivery
    marker = place(stub, merchant)  # a later decision proves the duplicate was consumed before it
    decide(rds, orders_prefix, merchant, marker.order_id, True)
    wait_reservation(stub, merchant, marker.order_id, pb.RESERVATION_STATUS_RESERVED)
    after = get(stub, merchant, order.order_id)
    assert len(after.refunds) == 1
    assert kinds(wait_events(rds, orders_prefix, merchant, order.order_id, 3)) == [
        "order_placed",
        "order_refunded",
        "order_cancelled",
    ]


def test_late_acceptance_after_cancel_changes_nothing(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str
) -> None:
    order = place(stub, merchant)
    cancelled = stub.CancelOrder(
        pb.CancelOrderRequest(mutation=Mutation(merchant_id=merchant, idempotency_key="c"), order_id=order.order_id)
    ).order
    assert cancelled.reservation_status == pb.RESERVATION_STATUS_RELEASED
    decide(rds, orders_prefix, merchant, order.order_id, True)
    marker = place(stub, merchant)
    decide(rds, orders_prefix, merchant, marker.order_id, True)
    wait_reservation(stub, merchant, marker.order_id, pb.RESERVATION_STATUS_RESERVED)
    assert get(stub, merchant, order.order_id) == cancelled
    events = wait_events(rds, orders_prefix, merchant, order.order_id, 3)
    # The release asked for everything the pending reservation may have taken.
    assert [(ln.sku, ln.quantity) for ln in events[2].order_cancelled.lines] == [("A100", 2), ("B200", 1)]


def test_poison_decisions_go_to_the_dead_letter_stream(
    rds: redis.Redis, orders_prefix: str, stub: Stub, merchant: str
) -> None:
    stream = RedisKeys(orders_prefix).catalog_events
    unknown = decide(rds, orders_prefix, merchant, "987654", True)  # no such order in this shop
    rds.xadd(stream, {"event": b"\xff\x00 not a protobuf"})

    def dead() -> list[tuple[bytes, dict[bytes, bytes]]] | None:
        entries = rds.xrange(f"{stream}:dead")
        return entries if len(entries) >= 2 else None

    entries = wait_for(dead, timeout=15, what="two dead-lettered entries")
    reasons = {f[b"dead_reason"] for _id, f in entries}
    assert all(r.startswith(b"failed") for r in reasons)
    ids = set()
    for _id, fields in entries:
        try:
            ids.add(events_pb2.Event.FromString(fields[b"event"]).event_id)
        except Exception:
            ids.add("garbage")
    assert {unknown, "garbage"} <= ids
    pending = rds.xpending(stream, "orders")
    assert pending["pending"] == 0
