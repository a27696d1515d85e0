"""Every mutating RPC takes an idempotency key; a replay returns the first result
and does nothing again."""

from __future__ import annotations

import grpc
import pytest
import redis

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc
from tests.orders.conftest import db_row, line, mutation, orders_events, place, reserved, wait_events

Stub = orders_pb2_grpc.OrdersServiceStub


def test_place_order_replay_returns_the_first_order(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str, orders_db: str
) -> None:
    request = pb.PlaceOrderRequest(mutation=mutation(merchant, "checkout-1"), lines=[line("A100", 1, 10)], paid=True)
    first = stub.PlaceOrder(request, timeout=5)
    again = stub.PlaceOrder(request, timeout=5)
    assert not first.replayed and again.replayed
    assert again.order == first.order
    assert db_row(orders_db, "SELECT count(*) FROM orders.orders WHERE merchant_id = %s", merchant) == (1,)
    wait_events(rds, orders_prefix, merchant, first.order.order_id, 1)
    assert len(orders_events(rds, orders_prefix, merchant)) == 1


def test_refund_replay_refunds_once(stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)
    request = pb.RefundOrderRequest(
        mutation=mutation(merchant, "refund-1"), order_id=order.order_id, amount=Money(units=30)
    )
    first = stub.RefundOrder(request, timeout=5)
    again = stub.RefundOrder(request, timeout=5)
    assert again.replayed and again.order == first.order
    assert again.order.refunded.units == 30
    current = stub.GetOrder(pb.GetOrderRequest(merchant_id=merchant, order_id=order.order_id))
    assert len(current.refunds) == 1 and current.refunded.units == 30


@pytest.mark.parametrize("method", ["ConfirmOrder", "ShipOrder", "CancelOrder", "MarkDelivered", "RateOrder"])
def test_every_mutation_replays(stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str, method: str) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)
    if method in ("MarkDelivered", "RateOrder"):
        stub.ShipOrder(pb.ShipOrderRequest(mutation=mutation(merchant), order_id=order.order_id))
    request_type = {
        "ConfirmOrder": pb.ConfirmOrderRequest,
        "ShipOrder": pb.ShipOrderRequest,
        "CancelOrder": pb.CancelOrderRequest,
        "MarkDelivered": pb.MarkDeliveredRequest,
        "RateOrder": pb.RateOrderRequest,
    }[method]
    request = request_type(mutation=mutation(merchant, f"k-{method}"), order_id=order.order_id)
    if method == "RateOrder":
        request.rating = 4
    call = getattr(stub, method)
    first = call(request, timeout=5)
    # Without the key this second call would be an illegal transition; with it, a replay.
    again = call(request, timeout=5)
    assert again.replayed and again.order == first.order and again.summary == first.summary


def test_key_reused_for_another_request_is_refused(stub: Stub, merchant: str) -> None:
    order = place(stub, merchant)
    stub.ConfirmOrder(pb.ConfirmOrderRequest(mutation=mutation(merchant, "same"), order_id=order.order_id))
    with pytest.raises(grpc.RpcError) as err:
        stub.CancelOrder(pb.CancelOrderRequest(mutation=mutation(merchant, "same"), order_id=order.order_id))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "already used" in (err.value.details() or "")


def test_missing_key_is_invalid_argument(stub: Stub, merchant: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.PlaceOrder(pb.PlaceOrderRequest(mutation=Mutation(merchant_id=merchant), lines=[line("A1", 1, 1)]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_failed_call_does_not_burn_its_key(stub: Stub, merchant: str) -> None:
    order = place(stub, merchant, paid=False)
    request = pb.RefundOrderRequest(mutation=mutation(merchant, "r"), order_id=order.order_id)
    for _ in range(2):  # refused both times: the refusal is not stored as a result
        with pytest.raises(grpc.RpcError) as err:
            stub.RefundOrder(request)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_an_expected_version_is_refused_not_ignored(stub: Stub, merchant: str, orders_db: str) -> None:
    """Mutation is one message for every service; only the catalog keeps versions to compare."""
    request = pb.PlaceOrderRequest(mutation=mutation(merchant), lines=[line("A100", 1, 10)], paid=True)
    request.mutation.expected_version = 1
    with pytest.raises(grpc.RpcError) as err:
        stub.PlaceOrder(request, timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "does not take expected_version" in (err.value.details() or "")
    assert db_row(orders_db, "SELECT count(*) FROM orders.orders WHERE merchant_id = %s", merchant) == (0,)


def test_an_order_can_name_any_sku_the_catalog_can_hold(stub: Stub, merchant: str) -> None:
    """The catalog takes "A.1" (shopvoice/identifiers.py); the orders service once refused it."""
    placed = stub.PlaceOrder(
        pb.PlaceOrderRequest(mutation=mutation(merchant), lines=[line("A.1", 1, 10)], paid=True), timeout=5
    )
    assert [ln.sku for ln in placed.order.lines] == ["A.1"]
