"""Another shop's order is indistinguishable from a missing one: same status,
same message, nothing changed, nothing leaked."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
import redis

from shopvoice.common.v1.command_pb2 import Metric, OrderFilter, Period
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc
from tests.orders.conftest import get, mutation, place, reserved

Stub = orders_pb2_grpc.OrdersServiceStub

CALLS: dict[str, Callable[[Stub, str, str], object]] = {
    "get": lambda s, m, o: s.GetOrder(pb.GetOrderRequest(merchant_id=m, order_id=o)),
    "confirm": lambda s, m, o: s.ConfirmOrder(pb.ConfirmOrderRequest(mutation=mutation(m), order_id=o)),
    "ship": lambda s, m, o: s.ShipOrder(pb.ShipOrderRequest(mutation=mutation(m), order_id=o, carrier="SF")),
    "cancel": lambda s, m, o: s.CancelOrder(pb.CancelOrderRequest(mutation=mutation(m), order_id=o)),
    "refund": lambda s, m, o: s.RefundOrder(pb.RefundOrderRequest(mutation=mutation(m), order_id=o)),
    "deliver": lambda s, m, o: s.MarkDelivered(pb.MarkDeliveredRequest(mutation=mutation(m), order_id=o)),
    "rate": lambda s, m, o: s.RateOrder(pb.RateOrderRequest(mutation=mutation(m), order_id=o, rating=1)),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_other_shops_order_looks_missing(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str, call: Callable[[Stub, str, str], object]
) -> None:
    victim = reserved(stub, rds, orders_prefix, merchant)
    intruder = merchant + "-intruder"
    place(stub, intruder)  # the intruder's own order 1 exists, so ids alone do not tell
    with pytest.raises(grpc.RpcError) as foreign:
        call(stub, intruder, "2")  # the victim's order 2 ... the intruder has none
    second = get(stub, merchant, place(stub, merchant).order_id)  # the victim now has an order 2
    with pytest.raises(grpc.RpcError) as cross:
        call(stub, intruder, "2")
    assert foreign.value.code() == cross.value.code() == grpc.StatusCode.NOT_FOUND
    assert foreign.value.details() == cross.value.details() == "order 2 not found in this shop"
    assert get(stub, merchant, victim.order_id) == victim
    assert get(stub, merchant, second.order_id) == second


def test_lists_and_reports_see_only_the_callers_orders(
    stub: Stub, rds: redis.Redis, orders_prefix: str, merchant: str
) -> None:
    reserved(stub, rds, orders_prefix, merchant)
    intruder = merchant + "-intruder"
    listed = stub.ListOrders(pb.ListOrdersRequest(merchant_id=intruder))
    assert (len(listed.orders), listed.total_count) == (0, 0)
    report = stub.SalesReport(
        pb.SalesReportRequest(merchant_id=intruder, metric=Metric.METRIC_REVENUE, period=Period.PERIOD_TODAY)
    )
    assert (report.orders, report.revenue.units) == (0, 0)
    mine = stub.ListOrders(pb.ListOrdersRequest(merchant_id=merchant, status=OrderFilter.ORDER_FILTER_UNFULFILLED))
    assert [o.merchant_id for o in mine.orders] == [merchant]
    assert stub.SalesReport(
        pb.SalesReportRequest(merchant_id=merchant, metric=Metric.METRIC_REVENUE, period=Period.PERIOD_TODAY)
    ).revenue == Money(currency_code="CNY", units=120)


def test_merchant_id_is_required(stub: Stub) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.GetOrder(pb.GetOrderRequest(order_id="1"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_order_vocabulary_is_the_callers_last_order_number(stub: Stub, merchant: str) -> None:
    """What the ASR reads to bound the order numbers it can hear: per shop, 0 before any order."""
    intruder = merchant + "-intruder"
    assert stub.GetOrderVocabulary(pb.GetOrderVocabularyRequest(merchant_id=merchant)).last_order_id == 0
    for _ in range(3):
        place(stub, merchant)
    place(stub, intruder)
    assert stub.GetOrderVocabulary(pb.GetOrderVocabularyRequest(merchant_id=merchant)).last_order_id == 3
    assert stub.GetOrderVocabulary(pb.GetOrderVocabularyRequest(merchant_id=intruder)).last_order_id == 1
    with pytest.raises(grpc.RpcError) as missing:
        stub.GetOrderVocabulary(pb.GetOrderVocabularyRequest())
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
