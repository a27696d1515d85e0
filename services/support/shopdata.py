"""Facts from the merchant's data, as one customer may see them.

Orders: GetOrder under the merchant from the token, and then only if the order's
customer_ref is this customer; another customer's order and a missing one give
the same None, so an answer cannot tell them apart. Products: only active ones
(a draft or archived product does not exist for a customer).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ShopProduct:
    """One active product as the customer channel names it."""

    sku: str  # its first SKU
    skus: tuple[str, ...]
    title: str  # the shop's title (Chinese in the demo shop)
    title_en: str  # the English title, else the description's first clause ("Thermos cup, 500 ml")
    description: str = ""


def english_title(title: str, description: str) -> str:
    """The product's English name: its title when that is English, else the description's
    first clause without a trailing "with ..." ("Bluetooth earbuds with charging case")."""
    if title.isascii():
        return title
    first = description.split(",")[0].split(";")[0].strip()
    first = first.split(" with ")[0].strip()
    return first if first.isascii() else ""


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
        self.ttl_s = vocab_ttl_s
        self._products: dict[str, tuple[float, tuple[ShopProduct, ...]]] = {}

    async def vocabulary(self, merchant_id: str) -> Vocabulary | None:
        return await self.vocabularies.get(merchant_id)

    async def products(self, merchant_id: str) -> tuple[ShopProduct, ...]:
        """The shop's active products (cached for the vocabulary's TTL)."""
        cached = self._products.get(merchant_id)
        if cached is not None and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        found: list[ShopProduct] = []
        token = ""
        while True:
            page = await self.catalog.ListProducts(
                catalog_pb2.ListProductsRequest(
                    merchant_id=merchant_id,
                    page_size=250,
                    page_token=token,
                    status=ProductStatus.PRODUCT_STATUS_ACTIVE,
                ),
                timeout=self.timeout_s,
            )
            for product in page.products:
                skus = tuple(v.sku for v in product.variants)
                if skus:
                    title_en = product.title_en or english_title(product.title, product.description)
                    found.append(ShopProduct(skus[0], skus, product.title, title_en, product.description))
            token = page.next_page_token
            if not token:
                break
        products = tuple(found)
        self._products[merchant_id] = (time.monotonic(), products)
        return products

    async def facts(self, merchant_id: str, sku: str, language: str) -> dict[str, str]:
        """The product's facts by name, in the language asked, else in the other one."""
        try:
            reply = await self.catalog.GetProductFacts(
                catalog_pb2.GetProductFactsRequest(merchant_id=merchant_id, sku=sku), timeout=self.timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return {}
            raise
        found: dict[str, str] = {}
        for fact in sorted(reply.facts, key=lambda f: f.language != language):
            found.setdefault(fact.name, fact.value)
        return found

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
    if status == "unfulfilled" and payment == "pending":
        status = "awaiting_payment"  # nothing is prepared before the customer pays
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


def variant_facts(
    facts: Facts, product: catalog_pb2.Product, variants: list[catalog_pb2.Variant], title: str = ""
) -> None:
    for variant in variants:
        available = variant.inventory.available
        state = "out" if available <= 0 else "few" if available <= FEW_LEFT else "in"
        price, was = to_decimal(variant.price), to_decimal(variant.compare_at_price)
        facts.add("variant.sku", variant.sku, keep_empty=True)
        facts.add("variant.title", title or variant.title or product.title, keep_empty=True)
        facts.add("variant.option", variant.option_title, keep_empty=True)
        facts.add("variant.stock", state, keep_empty=True)
        facts.add("variant.available", str(available) if state == "few" else "", keep_empty=True)
        facts.add("variant.price", money_text(variant.price), keep_empty=True)
        on_sale = was > price > 0
        facts.add("variant.compare_at_price", money_text(variant.compare_at_price) if on_sale else "", keep_empty=True)
        percent = ((was - price) / was * 100).quantize(Decimal("1")) if on_sale else Decimal(0)
        facts.add("variant.percent_off", str(percent) if on_sale else "", keep_empty=True)
