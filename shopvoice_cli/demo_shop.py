"""The demo merchant: a few products seeded through the catalog API, idempotently."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import yaml

from shopvoice import identity
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Actor, Mutation
from shopvoice.money import from_decimal

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


# -- the whole demo shop from demo_shop.yaml: products with facts, policies, customers' orders --

SHOP_FILE = Path(__file__).with_name("demo_shop.yaml")
POLICY_TOPICS = {
    "shipping": "POLICY_TOPIC_SHIPPING",
    "returns": "POLICY_TOPIC_RETURNS",
    "address_change": "POLICY_TOPIC_ADDRESS_CHANGE",
    "invoice": "POLICY_TOPIC_INVOICE",
    "warranty": "POLICY_TOPIC_WARRANTY",
    "payment": "POLICY_TOPIC_PAYMENT",
    "cancellation": "POLICY_TOPIC_CANCELLATION",
    "service_hours": "POLICY_TOPIC_SERVICE_HOURS",
}


def shop_file(path: Path = SHOP_FILE) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def _owner(merchant_id: str, key: str) -> Mutation:
    return Mutation(merchant_id=merchant_id, idempotency_key=key, actor=Actor(user_id=OWNER, role="owner"))


def seed_products(address: str, merchant_id: str = MERCHANT_ID, timeout_s: float = 10) -> int:
    """Every product of demo_shop.yaml that the shop lacks, then every product's facts (zh and en)."""
    created = 0
    with identity.sync_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        for product in shop_file()["products"]:
            sku = str(product["sku"])
            try:
                stub.GetProduct(pb.GetProductRequest(merchant_id=merchant_id, sku=sku), timeout=timeout_s)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                result = stub.CreateProduct(
                    pb.CreateProductRequest(
                        mutation=_owner(merchant_id, f"seed:{merchant_id}:{sku}"),
                        title=str(product["title"]),
                        title_en=str(product.get("title_en", "")),
                        description=str(product.get("description", "")),
                        sku=sku,
                        price=from_decimal(Decimal(str(product["price"])), "CNY"),
                        quantity=int(product["quantity"]),
                    ),
                    timeout=timeout_s,
                )
                created += 0 if result.replayed else 1
        seed_facts(stub, merchant_id, timeout_s)
    return created


def seed_facts(stub: catalog_pb2_grpc.CatalogServiceStub, merchant_id: str, timeout_s: float = 10) -> None:
    """demo_shop.yaml's facts for each of its products the shop has (the others are skipped)."""
    for product in shop_file()["products"]:
        sku = str(product["sku"])
        for name, values in (product.get("facts") or {}).items():
            for language, value in values.items():
                try:
                    stub.SetProductFact(
                        pb.SetProductFactRequest(
                            mutation=_owner(merchant_id, f"seed-fact:{sku}:{name}:{language}:{value}"),
                            sku=sku,
                            name=name,
                            language=language,
                            value=str(value),
                        ),
                        timeout=timeout_s,
                    )
                except grpc.RpcError as exc:
                    if exc.code() != grpc.StatusCode.NOT_FOUND:
                        raise


def seed_policies(support_address: str, merchant_id: str = MERCHANT_ID, timeout_s: float = 10) -> int:
    """The shop's policies from demo_shop.yaml, per topic and language; returns how many."""
    from shopvoice.support.v1 import support_pb2, support_pb2_grpc

    count = 0
    with identity.sync_channel(support_address) as channel:
        admin = support_pb2_grpc.SupportAdminStub(channel)
        for topic, texts in shop_file()["policies"].items():
            for language, text in texts.items():
                admin.SetPolicy(
                    support_pb2.SetPolicyRequest(
                        mutation=_owner(merchant_id, f"seed-policy:{topic}:{language}:{hash(text)}"),
                        topic=support_pb2.PolicyTopic.Value(POLICY_TOPICS[topic]),
                        language=language,
                        text=str(text).strip(),
                    ),
                    timeout=timeout_s,
                )
                count += 1
    return count


def seed_orders(orders_address: str, merchant_id: str = MERCHANT_ID, timeout_s: float = 20) -> dict[str, str]:
    """The customers' orders of demo_shop.yaml, each brought to its state; placeholder -> order id."""
    from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc

    prices = {str(p["sku"]): (str(p["title"]), Decimal(str(p["price"]))) for p in shop_file()["products"]}
    placed: dict[str, str] = {}

    def key() -> Mutation:
        return _owner(merchant_id, f"seed-order:{time.time_ns()}")

    with identity.sync_channel(orders_address) as channel:
        orders = orders_pb2_grpc.OrdersServiceStub(channel)
        for customer in shop_file()["customers"]:
            for order in customer["orders"]:
                state = str(order["state"])
                lines = [
                    orders_pb2.OrderLine(
                        sku=str(line["sku"]),
                        title=prices[str(line["sku"])][0],
                        quantity=int(line["quantity"]),
                        unit_price=from_decimal(prices[str(line["sku"])][1], "CNY"),
                    )
                    for line in order["lines"]
                ]
                result = orders.PlaceOrder(
                    orders_pb2.PlaceOrderRequest(
                        mutation=key(),
                        lines=lines,
                        customer_ref=str(customer["ref"]),
                        currency_code="CNY",
                        paid=state != "unpaid",
                    ),
                    timeout=timeout_s,
                )
                order_id = result.order.order_id
                _wait_reserved(orders, merchant_id, order_id, timeout_s)
                if state == "confirmed":
                    orders.ConfirmOrder(
                        orders_pb2.ConfirmOrderRequest(mutation=key(), order_id=order_id), timeout=timeout_s
                    )
                if state == "cancelled":
                    orders.CancelOrder(
                        orders_pb2.CancelOrderRequest(mutation=key(), order_id=order_id), timeout=timeout_s
                    )
                if state in ("shipped", "delivered", "refunded", "partially_refunded"):
                    orders.ShipOrder(
                        orders_pb2.ShipOrderRequest(
                            mutation=key(),
                            order_id=order_id,
                            carrier=str(order.get("carrier", "")),
                            tracking_number=str(order.get("tracking", "")),
                        ),
                        timeout=timeout_s,
                    )
                if state in ("delivered", "refunded", "partially_refunded"):
                    orders.MarkDelivered(
                        orders_pb2.MarkDeliveredRequest(mutation=key(), order_id=order_id), timeout=timeout_s
                    )
                if state == "refunded":
                    orders.RefundOrder(
                        orders_pb2.RefundOrderRequest(mutation=key(), order_id=order_id, restock=True),
                        timeout=timeout_s,
                    )
                if state == "partially_refunded":
                    orders.RefundOrder(
                        orders_pb2.RefundOrderRequest(
                            mutation=key(), order_id=order_id, amount=from_decimal(Decimal(str(order["refund"])), "CNY")
                        ),
                        timeout=timeout_s,
                    )
                placed[str(order["placeholder"])] = order_id
    return placed


def _wait_reserved(orders: Any, merchant_id: str, order_id: str, timeout_s: float) -> None:
    from shopvoice.orders.v1 import orders_pb2

    deadline = time.monotonic() + timeout_s
    request = orders_pb2.GetOrderRequest(merchant_id=merchant_id, order_id=order_id)
    while orders.GetOrder(request, timeout=timeout_s).reservation_status != orders_pb2.RESERVATION_STATUS_RESERVED:
        if time.monotonic() > deadline:
            raise RuntimeError(f"order {order_id}'s stock was not reserved in {timeout_s} s")
        time.sleep(0.05)
