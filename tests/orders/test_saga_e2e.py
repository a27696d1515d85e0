"""The reservation saga end to end: real orders and catalog processes, real Redis.

Needs the catalog side of the saga (consuming OrderPlaced/OrderCancelled and
answering ReservationDecided), built on the catalog branch: this test fails
until that branch is merged, by design (it is not skipped).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from shopvoice.catalog.v1 import catalog_pb2 as cpb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc
from tests.orders.conftest import line, mutation, orders_env, wait_for
from tests.support.processes import ServiceProcess


@pytest.fixture
def services(database_url: str, redis_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    env = orders_env(database_url, redis_url, stream_prefix)
    catalog = ServiceProcess("catalog", env, tmp_path).start()
    orders = ServiceProcess("orders", env, tmp_path).start()
    yield catalog.address, orders.address
    assert orders.stop() == 0, orders.log()
    assert catalog.stop() == 0, catalog.log()


@pytest.mark.e2e
def test_reserve_refuse_and_release_through_the_catalog(services: tuple[str, str]) -> None:
    catalog_address, orders_address = services
    with grpc.insecure_channel(catalog_address) as cch, grpc.insecure_channel(orders_address) as och:
        catalog = catalog_pb2_grpc.CatalogServiceStub(cch)
        orders = orders_pb2_grpc.OrdersServiceStub(och)
        catalog.CreateProduct(
            cpb.CreateProductRequest(
                mutation=Mutation(merchant_id="m1", idempotency_key="p"),
                title="红色T恤",
                sku="A100",
                price=Money(units=59),
                quantity=5,
            ),
            timeout=5,
        )

        def place(quantity: int) -> str:
            request = pb.PlaceOrderRequest(mutation=mutation("m1"), lines=[line("A100", quantity, 59)], paid=True)
            return str(orders.PlaceOrder(request, timeout=5).order.order_id)

        def settled(order_id: str) -> pb.Order | None:
            order = orders.GetOrder(pb.GetOrderRequest(merchant_id="m1", order_id=order_id), timeout=5)
            return None if order.reservation_status == pb.RESERVATION_STATUS_PENDING else order

        def available() -> int:
            stock = catalog.GetStock(cpb.GetStockRequest(merchant_id="m1", sku="A100"), timeout=5)
            return int(stock.inventory.available)

        first_id = place(3)
        first = wait_for(lambda: settled(first_id), timeout=15, what="the first reservation")
        assert first.reservation_status == pb.RESERVATION_STATUS_RESERVED
        wait_for(lambda: available() == 2, what="3 of 5 reserved")

        second_id = place(3)
        refused = wait_for(lambda: settled(second_id), timeout=15, what="the second reservation")
        assert refused.reservation_status == pb.RESERVATION_STATUS_REFUSED  # only 2 left
        assert refused.fulfillment_status == pb.FULFILLMENT_STATUS_CANCELLED
        assert refused.payment_status == pb.PAYMENT_STATUS_REFUNDED
        assert available() == 2  # compensation released nothing it did not hold

        orders.CancelOrder(pb.CancelOrderRequest(mutation=mutation("m1"), order_id=first.order_id), timeout=5)
        wait_for(lambda: available() == 5, timeout=15, what="the cancelled order's stock back")
