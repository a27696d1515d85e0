"""Typed command to the owning service's RPC, with the utterance id as idempotency key.

A refusal by the owning service (bad value, unknown SKU, illegal state) is an
answer for the merchant, not a failure: it becomes a REJECTED result with the
service's own message. An unreachable service raises, so the utterance stays
pending in the stream and is retried.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc

from services.nlu.replies_text import (
    FULFILLMENT_ZH,
    ORDER_FILTER_ZH,
    PAYMENT_ZH,
    PERIOD_ZH,
    money,
    pick,
)
from shopvoice import tracing
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Actor, Mutation
from shopvoice.errors import REFUSALS
from shopvoice.gateway.v1.gateway_pb2 import ResultStatus
from shopvoice.jobs import BULK_ADJUST_PRICE, BULK_UNDO, JobSender
from shopvoice.money import to_decimal
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc
from shopvoice.resolution import CatalogProduct, ProductIndex

OK = ResultStatus.RESULT_STATUS_OK
# "Which products are running low" with no number: fewer than this many available (as the
# worker's low-stock alerts count, LOW_STOCK_THRESHOLD's default).
DEFAULT_LOW_STOCK_THRESHOLD = 5
LISTED = 10  # products named in a reply; the rest are counted
_STATUS_NAMES = {
    cmd.PRODUCT_STATUS_ACTIVE: "active",
    cmd.PRODUCT_STATUS_DRAFT: "draft",
    cmd.PRODUCT_STATUS_ARCHIVED: "archived",
}


def summary(text: str, replayed: bool) -> str:
    return f"{text} (already done earlier; nothing changed now)" if replayed else text


def enum_word(enum: object, value: int, prefix: str) -> str:
    name: str = enum.Name(value)  # type: ignore[attr-defined]
    return name.removeprefix(prefix).lower()


@dataclass(frozen=True)
class Caller:
    """Who said it, from the gateway's verified token, which utterance it was, in which language."""

    merchant_id: str
    user_id: str
    role: str
    utterance_id: str
    chinese: bool = False
    undo_change_id: str = ""  # the session's last applied change, what `undo` reverts
    reply_stream: str = ""  # the session's reply stream: where a worker job's progress goes


@dataclass(frozen=True)
class Outcome:
    status: ResultStatus.ValueType
    message: str
    grpc_code: str = ""
    change_id: str = ""  # a catalog change that `undo` can revert


Route = Callable[[cmd.Command, Caller], Awaitable[Outcome]]


class Dispatcher:
    def __init__(
        self, catalog: grpc.aio.Channel, orders: grpc.aio.Channel, timeout_s: float, jobs: JobSender | None = None
    ) -> None:
        self.jobs = jobs
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(catalog)
        self.orders = orders_pb2_grpc.OrdersServiceStub(orders)
        self.timeout_s = timeout_s
        self._routes: dict[str, Route] = {
            "set_price": self._set_price,
            "adjust_price": self._adjust_price,
            "set_stock": self._set_stock,
            "adjust_stock": self._adjust_stock,
            "query_stock": self._query_stock,
            "query_product": self._query_product,
            "create_product": self._create_product,
            "set_product_status": self._set_product_status,
            "confirm_order": self._confirm_order,
            "ship_order": self._ship_order,
            "cancel_order": self._cancel_order,
            "refund_order": self._refund_order,
            "query_order": self._query_order,
            "list_orders": self._list_orders,
            "sales_report": self._sales_report,
            "undo": self._undo,
            "list_products": self._list_products,
            "low_stock": self._low_stock,
            "bulk_set_price": self._bulk,
            "bulk_adjust_price": self._bulk,
            "bulk_set_stock": self._bulk,
            "bulk_adjust_stock": self._bulk,
        }

    async def current_price(self, merchant_id: str, sku: str) -> Money | None:
        """A SKU's price now, for the policy's "large price change" check; None if unknown."""
        try:
            variant = await self.catalog.GetStock(
                catalog_pb2.GetStockRequest(merchant_id=merchant_id, sku=sku),
                **self._call_options(),  # type: ignore[arg-type]
            )
        except grpc.aio.AioRpcError:
            return None
        return variant.price

    async def paid_total(self, merchant_id: str, order_id: str) -> Money | None:
        """What an order's customer paid (its total), for 退一半 / "refund half"; None if unknown."""
        try:
            order = await self.orders.GetOrder(
                orders_pb2.GetOrderRequest(merchant_id=merchant_id, order_id=order_id),
                **self._call_options(),  # type: ignore[arg-type]
            )
        except grpc.aio.AioRpcError:
            return None
        return order.total if order.HasField("total") else None

    async def run(self, command: cmd.Command, caller: Caller) -> Outcome:
        intent = command.WhichOneof("intent") or ""
        route = self._routes.get(intent)
        if route is None:
            return Outcome(
                ResultStatus.RESULT_STATUS_NOT_UNDERSTOOD,
                pick(caller.chinese, "没听懂，请换个说法", "Sorry, I did not understand that"),
            )
        try:
            return await route(command, caller)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in REFUSALS:
                return Outcome(ResultStatus.RESULT_STATUS_REJECTED, exc.details() or exc.code().name, exc.code().name)
            raise

    # -- plumbing ---------------------------------------------------------------------------

    def _call_options(self) -> dict[str, object]:
        return {"timeout": self.timeout_s, "metadata": tracing.current_metadata()}

    @staticmethod
    def _mutation(caller: Caller) -> Mutation:
        """What every change carries: the merchant, the utterance as idempotency key, and who said it."""
        return Mutation(
            merchant_id=caller.merchant_id,
            idempotency_key=caller.utterance_id,
            actor=Actor(user_id=caller.user_id, role=caller.role, command_id=caller.utterance_id),
        )

    @staticmethod
    def _mutated(result: catalog_pb2.MutationResult | orders_pb2.OrderResult) -> Outcome:
        change_id = result.change_id if isinstance(result, catalog_pb2.MutationResult) else ""
        return Outcome(OK, summary(result.summary, result.replayed), change_id=change_id)

    # -- catalog ----------------------------------------------------------------------------

    async def _set_price(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.set_price
        request = catalog_pb2.SetPriceRequest(mutation=self._mutation(caller), sku=slots.sku, price=slots.price)
        return self._mutated(await self.catalog.SetPrice(request, **self._call_options()))  # type: ignore[arg-type]

    async def _adjust_price(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.adjust_price
        request = catalog_pb2.AdjustPriceRequest(mutation=self._mutation(caller), sku=slots.sku)
        if slots.WhichOneof("change") == "percent":
            request.percent = slots.percent
        else:
            request.delta.CopyFrom(slots.delta)
        return self._mutated(await self.catalog.AdjustPrice(request, **self._call_options()))  # type: ignore[arg-type]

    async def _set_stock(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.set_stock
        request = catalog_pb2.SetStockRequest(mutation=self._mutation(caller), sku=slots.sku, quantity=slots.quantity)
        return self._mutated(await self.catalog.SetStock(request, **self._call_options()))  # type: ignore[arg-type]

    async def _adjust_stock(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.adjust_stock
        request = catalog_pb2.AdjustStockRequest(mutation=self._mutation(caller), sku=slots.sku, delta=slots.delta)
        return self._mutated(await self.catalog.AdjustStock(request, **self._call_options()))  # type: ignore[arg-type]

    async def _query_stock(self, command: cmd.Command, caller: Caller) -> Outcome:
        request = catalog_pb2.GetStockRequest(merchant_id=caller.merchant_id, sku=command.query_stock.sku)
        variant = await self.catalog.GetStock(request, **self._call_options())  # type: ignore[arg-type]
        inv = variant.inventory
        return Outcome(
            OK,
            pick(
                caller.chinese,
                f"{variant.sku}（{variant.title}）可售 {inv.available} 件（库存 {inv.on_hand}，已占用 {inv.committed}）",
                f"{variant.sku} ({variant.title}): {inv.available} available ({inv.on_hand} on hand, {inv.committed} committed)",
            ),
        )

    async def _query_product(self, command: cmd.Command, caller: Caller) -> Outcome:
        request = catalog_pb2.GetProductRequest(merchant_id=caller.merchant_id, sku=command.query_product.sku)
        product = await self.catalog.GetProduct(request, **self._call_options())  # type: ignore[arg-type]
        status = enum_word(cmd.ProductStatus, product.status, "PRODUCT_STATUS_")
        variants = "; ".join(f"{v.sku} {money(v.price)} × {v.inventory.available}" for v in product.variants)
        return Outcome(
            OK,
            pick(caller.chinese, f"{product.title}（{status}）：{variants}", f"{product.title} ({status}): {variants}"),
        )

    async def _create_product(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.create_product
        request = catalog_pb2.CreateProductRequest(
            mutation=self._mutation(caller),
            title=slots.title,
            price=slots.price,
            quantity=slots.quantity if slots.HasField("quantity") else 0,
            sku=slots.sku if slots.HasField("sku") else "",
        )
        return self._mutated(await self.catalog.CreateProduct(request, **self._call_options()))  # type: ignore[arg-type]

    async def _set_product_status(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.set_product_status
        request = catalog_pb2.SetProductStatusRequest(
            mutation=self._mutation(caller), sku=slots.sku, status=slots.status
        )
        return self._mutated(await self.catalog.SetProductStatus(request, **self._call_options()))  # type: ignore[arg-type]

    async def _catalog_products(self, merchant_id: str) -> list[catalog_pb2.Product]:
        """Every product of the shop, page by page."""
        products: list[catalog_pb2.Product] = []
        token = ""
        while True:
            page = await self.catalog.ListProducts(
                catalog_pb2.ListProductsRequest(merchant_id=merchant_id, page_size=250, page_token=token),
                **self._call_options(),  # type: ignore[arg-type]
            )
            products.extend(page.products)
            token = page.next_page_token
            if not token:
                return products

    async def _list_products(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.list_products
        products = await self._catalog_products(caller.merchant_id)
        index = ProductIndex(
            CatalogProduct(v.sku, p.title, p.title_en, (p.description,), _STATUS_NAMES.get(p.status, "active"))
            for p in products
            for v in p.variants
        )
        status = _STATUS_NAMES.get(slots.status) if slots.HasField("status") else None
        chosen = set(index.select(slots.query if slots.HasField("query") else None, status))
        variants = [(p, v) for p in products for v in p.variants if v.sku in chosen]
        named = [f"{v.sku} {p.title} {money(v.price)}" for p, v in variants[:LISTED]]
        more = len(variants) - len(named)
        if not variants:
            return Outcome(OK, pick(caller.chinese, "没有符合的商品", "No products match"))
        return Outcome(
            OK,
            pick(
                caller.chinese,
                f"共{len(variants)}件商品：" + "；".join(named) + (f"；另有{more}件" if more else ""),
                f"{len(variants)} products: " + "; ".join(named) + (f"; and {more} more" if more else ""),
            ),
        )

    async def _low_stock(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.low_stock
        threshold = slots.threshold if slots.HasField("threshold") else DEFAULT_LOW_STOCK_THRESHOLD
        products = await self._catalog_products(caller.merchant_id)
        low = sorted(
            (
                (v.inventory.available, v.sku, p.title)
                for p in products
                if p.status != cmd.PRODUCT_STATUS_ARCHIVED
                for v in p.variants
                if v.inventory.available < threshold
            ),
        )
        if not low:
            return Outcome(
                OK,
                pick(
                    caller.chinese, f"没有库存少于{threshold}件的商品", f"Nothing has fewer than {threshold} available"
                ),
            )
        named = [f"{sku} {title} ×{available}" for available, sku, title in low[:LISTED]]
        more = len(low) - len(named)
        return Outcome(
            OK,
            pick(
                caller.chinese,
                f"{len(low)}件商品库存少于{threshold}件：" + "；".join(named) + (f"；另有{more}件" if more else ""),
                f"{len(low)} products have fewer than {threshold} available: "
                + "; ".join(named)
                + (f"; and {more} more" if more else ""),
            ),
        )

    async def _bulk(self, command: cmd.Command, caller: Caller) -> Outcome:
        """A confirmed bulk change goes to the worker with the SKUs the proposal named; the worker
        streams progress and the summary to the session. Its change id, "bulk:<job>", lets undo
        revert the whole job as one step."""
        intent = command.WhichOneof("intent") or ""
        slots = getattr(command, intent)
        if self.jobs is None or not slots.skus:
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                pick(caller.chinese, "批量修改暂时不可用", "Bulk changes are not available right now"),
                "UNAVAILABLE",
            )
        job_id = f"bulk-{caller.utterance_id}"
        spec: dict[str, object] = {
            "merchant_id": caller.merchant_id,
            "kind": intent.removeprefix("bulk_"),
            "skus": list(slots.skus),
            "user_id": caller.user_id,
            "role": caller.role,
            "reply_stream": caller.reply_stream,
            "chinese": caller.chinese,
        }
        if intent == "bulk_set_price":
            spec["price"] = f"{to_decimal(slots.price):.2f}"
        elif intent == "bulk_adjust_price":
            if slots.WhichOneof("change") == "percent":
                spec["percent"] = slots.percent
            else:
                spec["delta"] = f"{to_decimal(slots.delta):.2f}"
        elif intent == "bulk_set_stock":
            spec["quantity"] = slots.quantity
        else:
            spec["delta"] = str(slots.delta)
        await asyncio.to_thread(self.jobs.send, BULK_ADJUST_PRICE, (job_id, spec), f"{job_id}:start")
        count = len(slots.skus)
        return Outcome(
            OK,
            pick(
                caller.chinese,
                f"已开始批量修改{count}个商品，进度会陆续告诉您",
                f"Started changing {count} products; progress follows",
            ),
            change_id=f"bulk:{job_id}",
        )

    async def _undo_bulk(self, caller: Caller, job_id: str) -> Outcome:
        if self.jobs is None:
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                pick(caller.chinese, "批量撤销暂时不可用", "Undoing a bulk change is not available right now"),
                "UNAVAILABLE",
            )
        undo_id = f"undo-{caller.utterance_id}"
        args = (undo_id, job_id, caller.user_id, caller.role, caller.reply_stream, caller.chinese)
        await asyncio.to_thread(self.jobs.send, BULK_UNDO, args, f"{undo_id}:start")
        return Outcome(OK, pick(caller.chinese, "正在撤销刚才的批量修改", "Undoing the last bulk change, all of it"))

    async def _undo(self, command: cmd.Command, caller: Caller) -> Outcome:
        if caller.undo_change_id.startswith("bulk:"):
            return await self._undo_bulk(caller, caller.undo_change_id.removeprefix("bulk:"))
        request = catalog_pb2.UndoLastChangeRequest(mutation=self._mutation(caller), change_id=caller.undo_change_id)
        result = await self.catalog.UndoLastChange(request, **self._call_options())  # type: ignore[arg-type]
        return Outcome(OK, summary(result.summary, result.replayed))  # an undo is not itself undone

    # -- orders -----------------------------------------------------------------------------

    async def _confirm_order(self, command: cmd.Command, caller: Caller) -> Outcome:
        request = orders_pb2.ConfirmOrderRequest(
            mutation=self._mutation(caller), order_id=command.confirm_order.order_id
        )
        return self._mutated(await self.orders.ConfirmOrder(request, **self._call_options()))  # type: ignore[arg-type]

    async def _ship_order(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.ship_order
        request = orders_pb2.ShipOrderRequest(
            mutation=self._mutation(caller),
            order_id=slots.order_id,
            carrier=slots.carrier,
            tracking_number=slots.tracking_number,
        )
        return self._mutated(await self.orders.ShipOrder(request, **self._call_options()))  # type: ignore[arg-type]

    async def _cancel_order(self, command: cmd.Command, caller: Caller) -> Outcome:
        request = orders_pb2.CancelOrderRequest(mutation=self._mutation(caller), order_id=command.cancel_order.order_id)
        return self._mutated(await self.orders.CancelOrder(request, **self._call_options()))  # type: ignore[arg-type]

    async def _refund_order(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.refund_order
        request = orders_pb2.RefundOrderRequest(mutation=self._mutation(caller), order_id=slots.order_id)
        if slots.HasField("amount"):
            request.amount.CopyFrom(slots.amount)
        return self._mutated(await self.orders.RefundOrder(request, **self._call_options()))  # type: ignore[arg-type]

    async def _query_order(self, command: cmd.Command, caller: Caller) -> Outcome:
        request = orders_pb2.GetOrderRequest(merchant_id=caller.merchant_id, order_id=command.query_order.order_id)
        order = await self.orders.GetOrder(request, **self._call_options())  # type: ignore[arg-type]
        fulfillment = enum_word(orders_pb2.FulfillmentStatus, order.fulfillment_status, "FULFILLMENT_STATUS_")
        payment = enum_word(orders_pb2.PaymentStatus, order.payment_status, "PAYMENT_STATUS_")
        shipment = order.shipments[-1] if order.shipments else None
        if caller.chinese:
            text = f"订单{order.order_id}：{FULFILLMENT_ZH.get(fulfillment, fulfillment)}，{PAYMENT_ZH.get(payment, payment)}，金额 {money(order.total)}"
            if shipment:
                text += f"，{shipment.carrier} {shipment.tracking_number}"
        else:
            text = f"Order {order.order_id}: {fulfillment}, {payment}, total {money(order.total)}"
            if shipment:
                text += f", shipped via {shipment.carrier} {shipment.tracking_number}"
        return Outcome(OK, text)

    async def _list_orders(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.list_orders
        request = orders_pb2.ListOrdersRequest(
            merchant_id=caller.merchant_id, status=slots.status, period=slots.period, page_size=5
        )
        response = await self.orders.ListOrders(request, **self._call_options())  # type: ignore[arg-type]
        status = enum_word(cmd.OrderFilter, slots.status, "ORDER_FILTER_") if slots.status else ""
        ids = ", ".join(o.order_id for o in response.orders)
        if caller.chinese:
            label = ORDER_FILTER_ZH.get(status, "")
            text = f"共有 {response.total_count} 个{label}订单" + (f"：{ids}" if ids else "")
        else:
            label = f"{status} " if status else ""
            text = f"{response.total_count} {label}orders" + (f": {ids}" if ids else "")
        return Outcome(OK, text)

    async def _sales_report(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.sales_report
        request = orders_pb2.SalesReportRequest(
            merchant_id=caller.merchant_id, metric=slots.metric, period=slots.period
        )
        if slots.HasField("sku"):
            request.sku = slots.sku
        report = await self.orders.SalesReport(request, **self._call_options())  # type: ignore[arg-type]
        if report.summary:
            return Outcome(OK, report.summary)
        period = enum_word(cmd.Period, slots.period, "PERIOD_")
        metric = enum_word(cmd.Metric, slots.metric, "METRIC_")
        when = PERIOD_ZH.get(period, period) if caller.chinese else period.replace("_", " ")
        values = {
            "revenue": money(report.revenue),
            "orders": str(report.orders),
            "units": str(report.units),
            "avg_rating": f"{report.avg_rating:.1f}",
            "top_products": ", ".join(f"{p.sku} ({p.units})" for p in report.top_products),
        }
        return Outcome(OK, f"{when} {metric}: {values.get(metric, '')}")
