"""Payment and fulfillment state machines through the real gRPC API: every legal
move, and every illegal one refused with FAILED_PRECONDITION, changing nothing."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
import redis

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc
from tests.orders.conftest import get, kinds, mutation, place, reserved, wait_events

Stub = orders_pb2_grpc.OrdersServiceStub


def confirm(stub: Stub, m: str, order_id: str) -> pb.OrderResult:
    return stub.ConfirmOrder(pb.ConfirmOrderRequest(mutation=mutation(m), order_id=order_id), timeout=5)


def ship(stub: Stub, m: str, order_id: str) -> pb.OrderResult:
    request = pb.ShipOrderRequest(mutation=mutation(m), order_id=order_id, carrier="sf", tracking_number="SF123456")
    return stub.ShipOrder(request, timeout=5)


def cancel(stub: Stub, m: str, order_id: str) -> pb.OrderResult:
    return stub.CancelOrder(pb.CancelOrderRequest(mutation=mutation(m), order_id=order_id), timeout=5)


def deliver(stub: Stub, m: str, order_id: str) -> pb.OrderResult:
    return stub.MarkDelivered(pb.MarkDeliveredRequest(mutation=mutation(m), order_id=order_id), timeout=5)


def refund_all(stub: Stub, m: str, order_id: str) -> pb.OrderResult:
    return stub.RefundOrder(pb.RefundOrderRequest(mutation=mutation(m), order_id=order_id), timeout=5)


def rate(stub: Stub, m: str, order_id: str) -> pb.OrderResult:
    request = pb.RateOrderRequest(mutation=mutation(m), order_id=order_id, rating=5, review="fast")
    return stub.RateOrder(request, timeout=5)


def test_orders_are_numbered_per_merchant(stub: Stub, merchant: str) -> None:
    first, second = place(stub, merchant), place(stub, merchant)
    other = place(stub, merchant + "-other")
    assert (first.order_id, second.order_id, other.order_id) == ("1", "2", "1")
    assert first.total == Money(currency_code="CNY", units=120)
    assert first.payment_status == pb.PAYMENT_STATUS_PAID
    assert first.fulfillment_status == pb.FULFILLMENT_STATUS_UNFULFILLED
    assert first.reservation_status == pb.RESERVATION_STATUS_PENDING
    assert [(ln.sku, ln.quantity) for ln in first.lines] == [("A100", 2), ("B200", 1)]


def test_full_life_confirm_ship_deliver_rate(stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)
    assert confirm(stub, merchant, order.order_id).order.fulfillment_status == pb.FULFILLMENT_STATUS_CONFIRMED
    shipped = ship(stub, merchant, order.order_id)
    assert shipped.order.fulfillment_status == pb.FULFILLMENT_STATUS_SHIPPED
    assert shipped.order.reservation_status == pb.RESERVATION_STATUS_COMMITTED
    assert [(s.carrier, s.tracking_number) for s in shipped.order.shipments] == [("SF", "SF123456")]
    assert "via SF" in shipped.summary
    assert deliver(stub, merchant, order.order_id).order.fulfillment_status == pb.FULFILLMENT_STATUS_DELIVERED
    rated = rate(stub, merchant, order.order_id).order
    assert (rated.rating, rated.review) == (5, "fast")
    assert rated.payment_status == pb.PAYMENT_STATUS_PAID
    events = wait_events(rds, orders_prefix, merchant, order.order_id, 2)
    assert kinds(events) == ["order_placed", "order_shipped"]
    assert events[1].order_shipped.tracking_number == "SF123456"


def test_ship_straight_from_unfulfilled(stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)
    assert ship(stub, merchant, order.order_id).order.fulfillment_status == pb.FULFILLMENT_STATUS_SHIPPED


def test_cancel_unpaid_voids_payment(stub: Stub, merchant: str) -> None:
    order = place(stub, merchant, paid=False)
    result = cancel(stub, merchant, order.order_id).order
    assert result.fulfillment_status == pb.FULFILLMENT_STATUS_CANCELLED
    assert result.payment_status == pb.PAYMENT_STATUS_VOIDED
    assert result.reservation_status == pb.RESERVATION_STATUS_RELEASED
    assert not result.refunds


def test_cancel_paid_refunds_everything_and_releases_stock(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str
) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)
    result = cancel(stub, merchant, order.order_id)
    assert result.order.payment_status == pb.PAYMENT_STATUS_REFUNDED
    assert result.order.refunded == Money(currency_code="CNY", units=120)
    assert [r.amount.units for r in result.order.refunds] == [120]
    assert "120.00 CNY refunded" in result.summary
    events = wait_events(rds, orders_prefix, merchant, order.order_id, 3)
    assert kinds(events) == ["order_placed", "order_refunded", "order_cancelled"]
    assert {(ln.sku, ln.quantity) for ln in events[2].order_cancelled.lines} == {("A100", 2), ("B200", 1)}


Setup = Callable[[Stub, str, str], object]


def _nothing(stub: Stub, m: str, order_id: str) -> None:
    return None


def _shipped(stub: Stub, m: str, order_id: str) -> None:
    ship(stub, m, order_id)


def _delivered(stub: Stub, m: str, order_id: str) -> None:
    ship(stub, m, order_id)
    deliver(stub, m, order_id)


def _cancelled(stub: Stub, m: str, order_id: str) -> None:
    cancel(stub, m, order_id)


def _confirmed(stub: Stub, m: str, order_id: str) -> None:
    confirm(stub, m, order_id)


def _refunded(stub: Stub, m: str, order_id: str) -> None:
    refund_all(stub, m, order_id)


ILLEGAL: list[tuple[str, Setup, Callable[[Stub, str, str], object], str]] = [
    ("ship a cancelled order", _cancelled, ship, "it was cancelled"),
    ("cancel a shipped order", _shipped, cancel, "already shipped; refund it instead"),
    ("cancel a delivered order", _delivered, cancel, "already delivered; refund it instead"),
    ("cancel twice", _cancelled, cancel, "it is already cancelled"),
    ("confirm twice", _confirmed, confirm, "it is already confirmed"),
    ("confirm a cancelled order", _cancelled, confirm, "it was cancelled"),
    ("confirm a shipped order", _shipped, confirm, "already shipped"),
    ("ship twice", _shipped, ship, "already shipped"),
    ("deliver an unshipped order", _nothing, deliver, "it is unfulfilled"),
    ("ship a refunded order", _refunded, ship, "its payment was refunded"),
    ("confirm a refunded order", _refunded, confirm, "its payment was refunded"),
    ("refund a refunded order", _refunded, refund_all, "already refunded"),
    ("refund a cancelled order", _cancelled, refund_all, "already refunded"),
    ("rate an unshipped order", _nothing, rate, "rate it once it has shipped"),
]


@pytest.mark.parametrize(("setup", "act", "message"), [i[1:] for i in ILLEGAL], ids=[i[0] for i in ILLEGAL])
def test_illegal_transition_is_refused_and_changes_nothing(
    stub: Stub,
    rds: redis.Redis,
    orders_prefix: str,
    merchant: str,
    setup: Setup,
    act: Callable[[Stub, str, str], object],
    message: str,
) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)
    setup(stub, merchant, order.order_id)
    before = get(stub, merchant, order.order_id)
    with pytest.raises(grpc.RpcError) as err:
        act(stub, merchant, order.order_id)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert message in (err.value.details() or ""), err.value.details()
    assert f"order {order.order_id}" in (err.value.details() or "")
    assert get(stub, merchant, order.order_id) == before


def test_refund_of_unpaid_order_is_refused(stub: Stub, merchant: str) -> None:
    order = place(stub, merchant, paid=False)
    with pytest.raises(grpc.RpcError) as err:
        refund_all(stub, merchant, order.order_id)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "nothing has been paid" in (err.value.details() or "")


def test_ship_while_reservation_pending_is_refused(stub: Stub, merchant: str) -> None:
    order = place(stub, merchant)
    with pytest.raises(grpc.RpcError) as err:
        ship(stub, merchant, order.order_id)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "reservation is still pending" in (err.value.details() or "")
    assert get(stub, merchant, order.order_id).fulfillment_status == pb.FULFILLMENT_STATUS_UNFULFILLED


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "1 to 100 lines"),
        ([pb.OrderLine(sku="A100", title="x", quantity=0, unit_price=Money(units=1))], "quantity"),
        ([pb.OrderLine(sku="A 100", title="x", quantity=1, unit_price=Money(units=1))], "is not a SKU"),
        ([pb.OrderLine(sku="A100", title="x", quantity=1, unit_price=Money(units=1, nanos=1000))], "decimals"),
        ([pb.OrderLine(sku="A100", title="x", quantity=1, unit_price=Money(units=-1))], "negative"),
        ([pb.OrderLine(sku="A100", title="x", quantity=1, unit_price=Money(currency_code="USD", units=1))], "USD"),
    ],
)
def test_bad_order_is_invalid_argument(stub: Stub, merchant: str, lines: list[pb.OrderLine], message: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.PlaceOrder(pb.PlaceOrderRequest(mutation=mutation(merchant), lines=lines), timeout=5)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (err.value.details() or "")
    with pytest.raises(grpc.RpcError) as missing:
        get(stub, merchant, "1")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_unknown_carrier_and_bad_order_id_are_invalid_argument(stub: Stub, merchant: str) -> None:
    order = place(stub, merchant)
    with pytest.raises(grpc.RpcError) as err:
        stub.ShipOrder(pb.ShipOrderRequest(mutation=mutation(merchant), order_id=order.order_id, carrier="PIGEON"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        get(stub, merchant, "12a")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
