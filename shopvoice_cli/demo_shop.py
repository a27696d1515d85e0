"""The demo merchant: a few products seeded through the catalog API, idempotently."""

from __future__ import annotations

import time
from dataclasses import dataclass

import grpc

from shopvoice import identity
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Actor, Mutation

MERCHANT_ID = "demo-shop"
OWNER = "owner-1"


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    title: str
    description: str
    price: int
    quantity: int


PRODUCTS = (
    DemoProduct("A100", "红色T恤", "Red T-shirt, cotton", 89, 100),
    DemoProduct("B200", "蓝色牛仔裤", "Blue jeans, slim fit", 199, 50),
    DemoProduct("C7", "白色运动鞋", "White sneakers", 299, 30),
    DemoProduct("D42", "黑色双肩包", "Black backpack", 159, 20),
    DemoProduct("E15", "保温杯", "Thermos cup, 500 ml", 49, 200),
)


def place_order(orders_address: str, merchant_id: str = MERCHANT_ID, timeout_s: float = 20) -> str:
    """A paid shop-front order of two thermos cups; returns its id once its stock is reserved."""
    from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc

    with identity.sync_channel(orders_address) as channel:
        orders = orders_pb2_grpc.OrdersServiceStub(channel)
        placed = orders.PlaceOrder(
            orders_pb2.PlaceOrderRequest(
                mutation=Mutation(
                    merchant_id=merchant_id,
                    idempotency_key=f"demo-order:{time.time_ns()}",
                    actor=Actor(user_id="storefront", role="system"),
                ),
                lines=[orders_pb2.OrderLine(sku="E15", title="保温杯", quantity=2, unit_price=Money(units=49))],
                customer_ref="demo-customer",
                currency_code="CNY",
                paid=True,
            ),
            timeout=timeout_s,
        )
        order_id: str = placed.order.order_id
        deadline = time.monotonic() + timeout_s
        request = orders_pb2.GetOrderRequest(merchant_id=merchant_id, order_id=order_id)
        while orders.GetOrder(request, timeout=timeout_s).reservation_status != orders_pb2.RESERVATION_STATUS_RESERVED:
            if time.monotonic() > deadline:
                raise RuntimeError(f"order {order_id}'s stock was not reserved in {timeout_s} s")
            time.sleep(0.1)
    return order_id


def seed_catalog(address: str, merchant_id: str = MERCHANT_ID, timeout_s: float = 10) -> int:
    """Create the demo products that the shop does not have yet; returns how many it created.

    A product already there is left as it is (its price may have been changed since).
    """
    created = 0
    with identity.sync_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        for product in PRODUCTS:
            try:
                stub.GetProduct(pb.GetProductRequest(merchant_id=merchant_id, sku=product.sku), timeout=timeout_s)
                continue
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            result = stub.CreateProduct(
                pb.CreateProductRequest(
                    mutation=Mutation(
                        merchant_id=merchant_id,
                        idempotency_key=f"seed:{merchant_id}:{product.sku}",
                        actor=Actor(user_id=OWNER, role="owner"),
                    ),
                    title=product.title,
                    description=product.description,
                    sku=product.sku,
                    price=Money(units=product.price),
                    quantity=product.quantity,
                ),
                timeout=timeout_s,
            )
            created += 0 if result.replayed else 1
    return created
