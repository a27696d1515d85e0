"""The demo merchant: a few products seeded through the catalog API, idempotently."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money

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


def seed_catalog(address: str, merchant_id: str = MERCHANT_ID, timeout_s: float = 10) -> int:
    """Create the demo products; a second run replays the same keys and changes nothing."""
    created = 0
    with grpc.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        for product in PRODUCTS:
            result = stub.CreateProduct(
                pb.CreateProductRequest(
                    mutation=pb.Mutation(merchant_id=merchant_id, idempotency_key=f"seed:{merchant_id}:{product.sku}"),
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
