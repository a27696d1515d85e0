"""Facts from the merchant's data, as one customer may see them.

Orders: GetOrder under the merchant from the token, and then only if the order's
customer_ref is this customer; another customer's order and a missing one give
the same None, so an answer cannot tell them apart. Products: only active ones
(a draft or archived product does not exist for a customer).
"""

from __future__ import annotations

from datetime import UTC as _UTC
from decimal import Decimal

import grpc

from services.support import replies
from services.support.facts import Facts, date_text, money_text
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.command_pb2 import ProductStatus
from shopvoice.grammar import Vocabulary
from shopvoice.money import to_decimal
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc
from shopvoice.vocabulary_cache import VocabularyCache

#: Up to this many left, the answer says how many ("only 3 left"); above, just "in stock".
FEW_LEFT = 5


class ShopData:
    def __init__(
        self, catalog: grpc.aio.Channel, orders: grpc.aio.Channel, timeout_s: float, vocab_ttl_s: float
    ) -> None:
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(catalog)
        self.orders = orders_pb2_grpc.OrdersServiceStub(orders)
        self.timeout_s = timeout_s
        self.vocabularies = VocabularyCache(catalog, vocab_ttl_s, timeout_s)

    async def vocabulary(self, merchant_id: str) -> Vocabulary | None:
        return await self.vocabularies.get(merchant_id)

    async def order(self, merchant_id: str, customer_id: str, order_id: str) -> orders_pb2.Order | None:
        try:
            order = await self.orders.GetOrder(
                orders_pb2.GetOrderRequest(merchant_id=merchant_id, order_id=order_id), timeout=self.timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise
        if not customer_id or order.customer_ref != customer_id or order.merchant_id != merchant_id:
            return None
        return order

    async def product(self, merchant_id: str, sku: str) -> catalog_pb2.Product | None:
        try:
            product = await self.catalog.GetProduct(
                catalog_pb2.GetProductRequest(merchant_id=merchant_id, sku=sku), timeout=self.timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise
        if product.status not in (ProductStatus.PRODUCT_STATUS_ACTIVE, ProductStatus.PRODUCT_STATUS_UNSPECIFIED):
            return None
        return product


def order_facts(facts: Facts, order: orders_pb2.Order, language: str) -> None:
    status = orders_pb2.FulfillmentStatus.Name(order.fulfillment_status).removeprefix("FULFILLMENT_STATUS_").lower()
    payment = orders_pb2.PaymentStatus.Name(order.payment_status).removeprefix("PAYMENT_STATUS_").lower()
    facts.add("order.id", order.order_id)
    facts.add("order.status", replies.status_word(status, language))
    facts.add("order.payment", replies.payment_word(payment, language))
    facts.add("order.total", money_text(order.total))
    if to_decimal(order.refunded) > 0:
        facts.add("order.refunded", money_text(order.refunded))
    if order.shipments:
        last = order.shipments[-1]
        facts.add("shipment.carrier", replies.carrier_name(last.carrier, language) if last.carrier else "")
        facts.add("shipment.tracking", last.tracking_number)
        if last.HasField("shipped_at"):
            facts.add("shipment.date", date_text(last.shipped_at.ToDatetime().replace(tzinfo=_UTC)))


def variant_facts(facts: Facts, product: catalog_pb2.Product, variants: list[catalog_pb2.Variant]) -> None:
    for variant in variants:
        available = variant.inventory.available
        state = "out" if available <= 0 else "few" if available <= FEW_LEFT else "in"
        price, was = to_decimal(variant.price), to_decimal(variant.compare_at_price)
        facts.add("variant.sku", variant.sku, keep_empty=True)
        facts.add("variant.title", variant.title or product.title, keep_empty=True)
        facts.add("variant.option", variant.option_title, keep_empty=True)
        facts.add("variant.stock", state, keep_empty=True)
        facts.add("variant.available", str(available) if state == "few" else "", keep_empty=True)
        facts.add("variant.price", money_text(variant.price), keep_empty=True)
        on_sale = was > price > 0
        facts.add("variant.compare_at_price", money_text(variant.compare_at_price) if on_sale else "", keep_empty=True)
        percent = ((was - price) / was * 100).quantize(Decimal("1")) if on_sale else Decimal(0)
        facts.add("variant.percent_off", str(percent) if on_sale else "", keep_empty=True)
