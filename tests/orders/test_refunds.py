"""Partial and full refunds: the money that can come back, and the stock."""

from __future__ import annotations

import grpc
import pytest
import redis

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc
from tests.orders.conftest import get, kinds, mutation, reserved, wait_events

Stub = orders_pb2_grpc.OrdersServiceStub


def refund(stub: Stub, m: str, order_id: str, amount: Money | None = None, **kw: object) -> pb.OrderResult:
    request = pb.RefundOrderRequest(mutation=mutation(m), order_id=order_id, **kw)  # type: ignore[arg-type]
    if amount is not None:
        request.amount.CopyFrom(amount)
    return stub.RefundOrder(request, timeout=5)


def test_partial_refunds_then_the_rest(stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)  # total 120.00
    first = refund(stub, merchant, order.order_id, Money(units=30))
    assert first.order.payment_status == pb.PAYMENT_STATUS_PARTIALLY_REFUNDED
    assert first.order.refunded == Money(currency_code="CNY", units=30)
    assert "partially refunded: 30.00 CNY" in first.summary
    second = refund(stub, merchant, order.order_id, Money(units=40, nanos=500_000_000))
    assert second.order.payment_status == pb.PAYMENT_STATUS_PARTIALLY_REFUNDED
    assert second.order.refunded == Money(currency_code="CNY", units=70, nanos=500_000_000)
    rest = refund(stub, merchant, order.order_id)  # no amount: everything left
    assert rest.order.payment_status == pb.PAYMENT_STATUS_REFUNDED
    assert rest.order.refunded == Money(currency_code="CNY", units=120)
    amounts = [(r.amount.units, r.amount.nanos) for r in rest.order.refunds]
    assert amounts == [(30, 0), (40, 500_000_000), (49, 500_000_000)]
    events = wait_events(rds, orders_prefix, merchant, order.order_id, 4)
    assert kinds(events) == ["order_placed", "order_refunded", "order_refunded", "order_refunded"]
    assert events[3].order_refunded.amount == Money(currency_code="CNY", units=49, nanos=500_000_000)
    assert not events[3].order_refunded.restock


def test_refund_more_than_paid_is_refused(stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)
    refund(stub, merchant, order.order_id, Money(units=100))
    before = get(stub, merchant, order.order_id)
    with pytest.raises(grpc.RpcError) as err:
        refund(stub, merchant, order.order_id, Money(units=20, nanos=10_000_000))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "only 20.0000 of the 120.0000 paid is left to refund" in (err.value.details() or "")
    assert get(stub, merchant, order.order_id) == before


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (Money(units=0), grpc.StatusCode.INVALID_ARGUMENT),
        (Money(units=-5), grpc.StatusCode.INVALID_ARGUMENT),
        (Money(units=1, nanos=1), grpc.StatusCode.INVALID_ARGUMENT),
        (Money(currency_code="USD", units=1), grpc.StatusCode.INVALID_ARGUMENT),
        (Money(units=121), grpc.StatusCode.FAILED_PRECONDITION),
    ],
)
def test_bad_refund_amounts(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str, amount: Money, code: grpc.StatusCode
) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)
    with pytest.raises(grpc.RpcError) as err:
        refund(stub, merchant, order.order_id, amount)
    assert err.value.code() == code
    assert get(stub, merchant, order.order_id).payment_status == pb.PAYMENT_STATUS_PAID


def test_refund_with_restock_returns_the_units_once(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str
) -> None:
    order = reserved(stub, rds, orders_prefix, merchant)  # 2 × A100, 1 × B200
    partial = refund(
        stub,
        merchant,
        order.order_id,
        Money(units=50),
        restock=True,
        restock_lines=[pb.RestockLine(sku="A100", quantity=1)],
    )
    assert [(x.sku, x.quantity) for x in partial.order.refunds[0].restocked] == [("A100", 1)]
    with pytest.raises(grpc.RpcError) as err:  # B200 has only 1 unit to bring back
        refund(
            stub,
            merchant,
            order.order_id,
            Money(units=1),
            restock=True,
            restock_lines=[pb.RestockLine(sku="B200", quantity=2)],
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    full = refund(stub, merchant, order.order_id, restock=True)  # the rest of the money and of the units
    assert full.order.payment_status == pb.PAYMENT_STATUS_REFUNDED
    assert [(x.sku, x.quantity) for x in full.order.refunds[1].restocked] == [("A100", 1), ("B200", 1)]
    assert "2 units restocked" in full.summary
    events = wait_events(rds, orders_prefix, merchant, order.order_id, 3)
    restocks = [
        (e.order_refunded.restock, [(ln.sku, ln.quantity) for ln in e.order_refunded.lines]) for e in events[1:]
    ]
    assert restocks == [(True, [("A100", 1)]), (True, [("A100", 1), ("B200", 1)])]
