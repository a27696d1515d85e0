"""Two shops seeded through the real catalog, orders and support APIs, for the customer tests.

shop-a: products with variants and a sale price, orders of cust-1 (shipped with
SF tracking, pending, cancelled) and one of cust-2, policies in zh and en
(invoice in zh only). shop-b: a product, an order and a returns-less policy set
whose text carries a marker that must never reach a shop-a customer.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import grpc

from shopvoice.catalog.v1 import catalog_pb2 as cat
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Actor, Mutation
from shopvoice.orders.v1 import orders_pb2 as ords
from shopvoice.orders.v1 import orders_pb2_grpc
from shopvoice.support.v1 import support_pb2 as sup
from shopvoice.support.v1 import support_pb2_grpc

SHOP_A, SHOP_B = "shop-a", "shop-b"
TRACKING = "SF1234567890"
OTHER_TRACKING = "YT7777777777"
SHOP_B_TRACKING = "ZT5555555555"
SHOP_B_MARKER = "SHOPB-ONLY-POLICY"

POLICIES = {
    SHOP_A: {
        (sup.POLICY_TOPIC_SHIPPING, "zh"): "下单后48小时内发货，一般3-5天送达，满99元包邮。",
        (
            sup.POLICY_TOPIC_SHIPPING,
            "en",
        ): "We ship within 48 hours; delivery usually takes 3-5 days. Free shipping over 99 CNY.",
        (sup.POLICY_TOPIC_RETURNS, "zh"): "签收后7天内可无理由退货，收到退货后3个工作日内原路退款。",
        (
            sup.POLICY_TOPIC_RETURNS,
            "en",
        ): "Returns within 7 days of delivery, no reason needed; refunds within 3 working days of receiving the return.",
        (sup.POLICY_TOPIC_ADDRESS_CHANGE, "zh"): "发货前可在订单页面修改收货地址；已发货的订单请联系快递改派。",
        (
            sup.POLICY_TOPIC_ADDRESS_CHANGE,
            "en",
        ): "Before shipping you can change the address on the order page; once shipped, ask the carrier to redirect it.",
        (sup.POLICY_TOPIC_INVOICE, "zh"): "支持电子普通发票，请在订单备注中填写抬头和税号，发货后24小时内开具。",
    },
    SHOP_B: {
        (sup.POLICY_TOPIC_SHIPPING, "zh"): f"{SHOP_B_MARKER} 我们15天内发货。",
        (sup.POLICY_TOPIC_SHIPPING, "en"): f"{SHOP_B_MARKER} We ship within 15 days.",
    },
}


# Product facts: what the customer channel answers product questions from.
FACTS = [
    (SHOP_A, "E15", "capacity", "zh", "500毫升"),
    (SHOP_A, "E15", "capacity", "en", "500 ml"),
    (SHOP_A, "E15", "dishwasher", "en", "not dishwasher safe; wash by hand"),
    (SHOP_A, "E15", "dishwasher", "zh", "不建议放洗碗机，请手洗"),
    (SHOP_A, "B200", "material", "en", "98% cotton, 2% elastane"),
    (SHOP_A, "B200", "material", "zh", "98%棉、2%氨纶"),
    (SHOP_A, "A100", "material", "zh", "100%纯棉"),
    (SHOP_B, "Z9", "material", "zh", f"{SHOP_B_MARKER} 碳纤维伞骨"),
]


@dataclass
class Seeded:
    orders: dict[str, str] = field(default_factory=dict)  # placeholder name -> order id

    def fill(self, text: str) -> str:
        for name, value in self.orders.items():
            text = text.replace("{" + name + "}", value)
        return text


def _money(units: int) -> Money:
    return Money(units=units, currency_code="CNY")


def _product(
    stub: catalog_pb2_grpc.CatalogServiceStub, merchant: str, title: str, variants: list[tuple[str, str, int, int, int]]
) -> None:
    stub.CreateProduct(
        cat.CreateProductRequest(
            mutation=Mutation(merchant_id=merchant, idempotency_key=f"seed:{merchant}:{title}"),
            title=title,
            variants=[
                cat.NewVariant(
                    sku=sku,
                    option_title=option,
                    price=_money(price),
                    compare_at_price=_money(was) if was else None,
                    quantity=qty,
                )
                for sku, option, price, was, qty in variants
            ],
        ),
        timeout=10,
    )


def _order(
    stub: orders_pb2_grpc.OrdersServiceStub, merchant: str, customer: str, sku: str, title: str, price: int
) -> str:
    placed = stub.PlaceOrder(
        ords.PlaceOrderRequest(
            mutation=Mutation(merchant_id=merchant, idempotency_key=f"seed:{uuid.uuid4().hex}"),
            lines=[ords.OrderLine(sku=sku, title=title, quantity=1, unit_price=_money(price))],
            customer_ref=customer,
            currency_code="CNY",
            paid=True,
        ),
        timeout=10,
    )
    order_id: str = placed.order.order_id
    deadline = time.monotonic() + 20
    request = ords.GetOrderRequest(merchant_id=merchant, order_id=order_id)
    while stub.GetOrder(request, timeout=10).reservation_status != ords.RESERVATION_STATUS_RESERVED:
        if time.monotonic() > deadline:
            raise RuntimeError(f"order {order_id} was not reserved")
        time.sleep(0.05)
    return order_id


def _mutation(merchant: str) -> Mutation:
    return Mutation(merchant_id=merchant, idempotency_key=f"seed:{uuid.uuid4().hex}")


def seed(catalog_addr: str, orders_addr: str, support_addr: str) -> Seeded:
    seeded = Seeded()
    with (
        grpc.insecure_channel(catalog_addr) as c,
        grpc.insecure_channel(orders_addr) as o,
        grpc.insecure_channel(support_addr) as s,
    ):
        catalog = catalog_pb2_grpc.CatalogServiceStub(c)
        _product(catalog, SHOP_A, "红色T恤", [("A100", "", 89, 0, 100)])
        _product(
            catalog,
            SHOP_A,
            "Cotton T-shirt",
            [
                ("TS-RED-S", "Red / S", 59, 79, 0),
                ("TS-RED-M", "Red / M", 59, 79, 3),
                ("TS-RED-L", "Red / L", 59, 79, 40),
                ("TS-BLUE-L", "Blue / L", 59, 79, 12),
            ],
        )
        _product(catalog, SHOP_A, "蓝色牛仔裤", [("B200", "", 199, 0, 0)])
        _product(catalog, SHOP_A, "White sneakers", [("C7", "", 299, 399, 5)])
        _product(catalog, SHOP_A, "保温杯", [("E15", "", 49, 0, 200)])
        _product(catalog, SHOP_B, "紫色雨伞", [("Z9", "", 66, 0, 70)])
        for merchant, sku, name, language, value in FACTS:
            catalog.SetProductFact(
                cat.SetProductFactRequest(
                    mutation=_mutation(merchant), sku=sku, name=name, language=language, value=value
                ),
                timeout=10,
            )

        orders = orders_pb2_grpc.OrdersServiceStub(o)
        shipped = _order(orders, SHOP_A, "cust-1", "E15", "保温杯", 49)
        orders.ShipOrder(
            ords.ShipOrderRequest(mutation=_mutation(SHOP_A), order_id=shipped, carrier="SF", tracking_number=TRACKING),
            timeout=10,
        )
        pending = _order(orders, SHOP_A, "cust-1", "A100", "红色T恤", 89)
        cancelled = _order(orders, SHOP_A, "cust-1", "E15", "保温杯", 49)
        orders.CancelOrder(ords.CancelOrderRequest(mutation=_mutation(SHOP_A), order_id=cancelled), timeout=10)
        other = _order(orders, SHOP_A, "cust-2", "E15", "保温杯", 49)
        orders.ShipOrder(
            ords.ShipOrderRequest(
                mutation=_mutation(SHOP_A), order_id=other, carrier="YTO", tracking_number=OTHER_TRACKING
            ),
            timeout=10,
        )
        shop_b = _order(orders, SHOP_B, "cust-9", "Z9", "紫色雨伞", 66)
        orders.ShipOrder(
            ords.ShipOrderRequest(
                mutation=_mutation(SHOP_B), order_id=shop_b, carrier="ZTO", tracking_number=SHOP_B_TRACKING
            ),
            timeout=10,
        )
        seeded.orders.update(shipped=shipped, pending=pending, cancelled=cancelled, other=other, shopb=shop_b)

        admin = support_pb2_grpc.SupportAdminStub(s)
        for merchant, texts in POLICIES.items():
            for (topic, language), body in texts.items():
                admin.SetPolicy(
                    sup.SetPolicyRequest(
                        mutation=Mutation(
                            merchant_id=merchant,
                            idempotency_key=f"policy:{topic}:{language}",
                            actor=Actor(user_id="owner-1", role="owner"),
                        ),
                        topic=topic,
                        language=language,
                        text=body,
                    ),
                    timeout=10,
                )
    return seeded
