"""Typed command to the owning service's RPC, with the utterance id as idempotency key.

A refusal by the owning service (bad value, unknown SKU, illegal state) is an
answer for the merchant, not a failure: it becomes a REJECTED result with the
service's own message. An unreachable service raises, so the utterance stays
pending in the stream and is retried.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

import grpc

from services.nlu import guardrail
from services.nlu.replies_text import (
    FULFILLMENT_ZH,
    ORDER_FILTER_ZH,
    PAYMENT_ZH,
    PERIOD_ZH,
    REPLAYED_ZH,
    money,
    pick,
    price_changed_zh,
    stock_now_zh,
)
from shopvoice import tracing
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Actor, ChangeRecord, Confirmation, Mutation
from shopvoice.errors import REFUSALS
from shopvoice.gateway.v1.gateway_pb2 import ResultStatus
from shopvoice.jobs import BULK_ADJUST_PRICE, BULK_UNDO, EXPORT_SALES_CSV, JobSender
from shopvoice.money import to_decimal
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc
from shopvoice.resolution import CatalogProduct, ProductIndex

OK = ResultStatus.RESULT_STATUS_OK
# "Which products are running low" with no number: fewer than this many available (as the
# worker's low-stock alerts count, LOW_STOCK_THRESHOLD's default).
DEFAULT_LOW_STOCK_THRESHOLD = 5
LISTED = 10  # products named in a reply; the rest are counted
_IRREVERSIBLE_WORDS = {
    "refund_order": ("退款", "A refund"),
    "ship_order": ("发货", "A shipment"),
    "cancel_order": ("取消订单", "A cancelled order"),
    "confirm_order": ("确认订单", "A confirmed order"),
}
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
    undo_history: tuple[str, ...] = ()  # the session's changes, the last first: what "undo N" reverts
    confirmed_by: str = ""  # who said "confirm" to this command (the guardrails' confirmation)


@dataclass(frozen=True)
class Outcome:
    status: ResultStatus.ValueType
    message: str
    grpc_code: str = ""
    change_id: str = ""  # a catalog change that `undo` can revert
    change: ChangeRecord | None = None  # what it changed, for the audit trail


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
            "export_report": self._export,
            "set_product_fact": self._set_product_fact,
            "set_guardrail": self._set_guardrail,
            "query_guardrail": self._query_guardrail,
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
        mutation = Mutation(
            merchant_id=caller.merchant_id,
            idempotency_key=caller.utterance_id,
            actor=Actor(user_id=caller.user_id, role=caller.role, command_id=caller.utterance_id),
        )
        if caller.confirmed_by:
            mutation.confirmation.CopyFrom(Confirmation(user_id=caller.confirmed_by, role=caller.role))
        return mutation

    @staticmethod
    def _mutated(result: catalog_pb2.MutationResult | orders_pb2.OrderResult) -> Outcome:
        if isinstance(result, catalog_pb2.MutationResult):
            change = result.record if result.HasField("record") else None
            return Outcome(OK, summary(result.summary, result.replayed), change_id=result.change_id, change=change)
        return Outcome(OK, summary(result.summary, result.replayed))

    @staticmethod
    def _changed(result: catalog_pb2.MutationResult, caller: Caller, kind: str) -> Outcome:
        """A price or stock change, answered in the merchant's language: the catalog's summary is
        English, so a Chinese reply is rendered here from the structured result (its change record
        and the variant as it now is)."""
        outcome = Dispatcher._mutated(result)
        variant = next((v for v in result.product.variants if v.sku == result.sku), None)
        if not caller.chinese or variant is None:
            return outcome
        record = result.record
        if kind == "price" and record.field == "price":
            text = price_changed_zh(result.sku, record.before, record.after, variant.price.currency_code)
        elif kind == "price":
            text = f"{result.sku} 价格现为 {money(variant.price)}"  # no record: what it is now
        else:
            text = stock_now_zh(result.sku, variant.inventory.on_hand, variant.inventory.available)
        return dataclasses.replace(outcome, message=text + (REPLAYED_ZH if result.replayed else ""))

    # -- catalog ----------------------------------------------------------------------------

    async def _set_price(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.set_price
        request = catalog_pb2.SetPriceRequest(mutation=self._mutation(caller), sku=slots.sku, price=slots.price)
        return self._changed(await self.catalog.SetPrice(request, **self._call_options()), caller, "price")  # type: ignore[arg-type]

    async def _adjust_price(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.adjust_price
        request = catalog_pb2.AdjustPriceRequest(mutation=self._mutation(caller), sku=slots.sku)
        if slots.WhichOneof("change") == "percent":
            request.percent = slots.percent
        else:
            request.delta.CopyFrom(slots.delta)
        return self._changed(await self.catalog.AdjustPrice(request, **self._call_options()), caller, "price")  # type: ignore[arg-type]

    async def _set_stock(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.set_stock
        request = catalog_pb2.SetStockRequest(mutation=self._mutation(caller), sku=slots.sku, quantity=slots.quantity)
        return self._changed(await self.catalog.SetStock(request, **self._call_options()), caller, "stock")  # type: ignore[arg-type]

    async def _adjust_stock(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.adjust_stock
        request = catalog_pb2.AdjustStockRequest(mutation=self._mutation(caller), sku=slots.sku, delta=slots.delta)
        return self._changed(await self.catalog.AdjustStock(request, **self._call_options()), caller, "stock")  # type: ignore[arg-type]

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
            # The merchant confirmed the proposal (its count and examples): the catalog's guardrails
            # (a bulk over the threshold, a price past its window) take that as the person's
            # confirmation. Without it every product of a large bulk was refused after "confirm".
            "confirmed_by": caller.confirmed_by,
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

    async def _export(self, command: cmd.Command, caller: Caller) -> Outcome:
        """The worker writes the file and tells the session where it is."""
        slots = command.export_report
        if self.jobs is None:
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                pick(caller.chinese, "导出暂时不可用", "Exports are not available right now"),
                "UNAVAILABLE",
            )
        report = enum_word(cmd.Report, slots.report, "REPORT_")
        period = enum_word(cmd.Period, slots.period, "PERIOD_") if slots.HasField("period") else ""
        job_id = f"export-{caller.utterance_id}"
        args = (caller.merchant_id, period, "", report, caller.reply_stream, caller.chinese, job_id)
        await asyncio.to_thread(self.jobs.send, EXPORT_SALES_CSV, args, f"{job_id}:start")
        return Outcome(
            OK, pick(caller.chinese, "正在导出，文件好了会告诉您在哪里", "Exporting; I'll tell you where the file is")
        )

    async def _set_product_fact(self, command: cmd.Command, caller: Caller) -> Outcome:
        """A product fact, in the merchant's language (what customers asking in it are answered from)."""
        slots = command.set_product_fact
        request = catalog_pb2.SetProductFactRequest(
            mutation=self._mutation(caller),
            sku=slots.sku,
            name=slots.name,
            language="zh" if caller.chinese else "en",
            value=slots.value,
        )
        await self.catalog.SetProductFact(request, **self._call_options())  # type: ignore[arg-type]
        return Outcome(
            OK,
            pick(
                caller.chinese,
                f"已记下{slots.sku}的{slots.name}：{slots.value}",
                f"Noted for {slots.sku}: {slots.name} is {slots.value}",
            ),
        )

    async def _undo_bulk(self, caller: Caller, job_id: str) -> Outcome:
        if self.jobs is None:
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                pick(caller.chinese, "批量撤销暂时不可用", "Undoing a bulk change is not available right now"),
                "UNAVAILABLE",
            )
        undo_id = f"undo-{caller.utterance_id}"
        args = (undo_id, job_id, caller.user_id, caller.role, caller.reply_stream, caller.chinese, caller.confirmed_by)
        await asyncio.to_thread(self.jobs.send, BULK_UNDO, args, f"{undo_id}:start")
        return Outcome(OK, pick(caller.chinese, "正在撤销刚才的批量修改", "Undoing the last bulk change, all of it"))

    async def _undo(self, command: cmd.Command, caller: Caller) -> Outcome:
        count = command.undo.count if command.undo.HasField("count") else 1
        if count > 1:
            return await self._undo_several(count, caller)
        return await self._undo_one(caller)

    async def _undo_several(self, count: int, caller: Caller) -> Outcome:
        """The session's last `count` changes, the last first; stops at one that cannot be undone
        (and says so), never skipping it to reach an older one."""
        history = caller.undo_history or ((caller.undo_change_id,) if caller.undo_change_id else ())
        if len(history) < count:
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                pick(
                    caller.chinese,
                    f"这次对话里只有{len(history)}次修改可以撤销，没有改动任何东西",
                    f"Only {len(history)} changes of this conversation can be undone; nothing was changed",
                ),
                "FAILED_PRECONDITION",
            )
        summaries = []
        for n, change_id in enumerate(history[:count]):
            step = dataclasses.replace(
                caller,
                undo_change_id=change_id,
                utterance_id=f"{caller.utterance_id}:{n}" if n else caller.utterance_id,
            )
            outcome = await self._undo_one(step)
            if outcome.status != OK:
                done = pick(caller.chinese, f"已撤销{n}次；", f"{n} undone; ") if n else ""
                return Outcome(outcome.status, done + outcome.message, outcome.grpc_code)
            summaries.append(outcome.message)
        return Outcome(OK, "; ".join(summaries))

    async def _undo_one(self, caller: Caller) -> Outcome:
        if caller.undo_change_id.startswith("irreversible:"):
            what = caller.undo_change_id.removeprefix("irreversible:")
            zh, en = _IRREVERSIBLE_WORDS.get(what, ("这个操作", "that"))
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                pick(caller.chinese, f"{zh}不能撤销，什么都没有改", f"{en} cannot be undone; nothing was changed"),
                "FAILED_PRECONDITION",
            )
        if caller.undo_change_id.startswith("bulk:"):
            return await self._undo_bulk(caller, caller.undo_change_id.removeprefix("bulk:"))
        request = catalog_pb2.UndoLastChangeRequest(mutation=self._mutation(caller), change_id=caller.undo_change_id)
        result = await self.catalog.UndoLastChange(request, **self._call_options())  # type: ignore[arg-type]
        return Outcome(OK, summary(result.summary, result.replayed))  # an undo is not itself undone

    async def _set_guardrail(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.set_guardrail
        if not slots.HasField("price_change_percent") and not slots.HasField("bulk_threshold"):
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                pick(
                    caller.chinese,
                    "请说要设的门槛，比如：把改价确认门槛设为百分之十五",
                    "Say which limit to set, e.g. set the price change limit to 15%",
                ),
            )
        request = catalog_pb2.SetGuardrailPolicyRequest(mutation=self._mutation(caller))
        if slots.HasField("price_change_percent"):
            request.price_change_percent = slots.price_change_percent
        if slots.HasField("bulk_threshold"):
            request.bulk_threshold = slots.bulk_threshold
        policy = await self.catalog.SetGuardrailPolicy(request, **self._call_options())  # type: ignore[arg-type]
        return Outcome(OK, guardrail.policy_text(policy, caller.chinese, changed=True))

    async def _query_guardrail(self, command: cmd.Command, caller: Caller) -> Outcome:
        request = catalog_pb2.GetGuardrailPolicyRequest(merchant_id=caller.merchant_id)
        policy = await self.catalog.GetGuardrailPolicy(request, **self._call_options())  # type: ignore[arg-type]
        return Outcome(OK, guardrail.policy_text(policy, caller.chinese))

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
        if slots.metric == cmd.METRIC_REFUNDS:
            return await self._refunds(slots.period, caller)
        if slots.HasField("compare_period"):
            return await self._compare(command, caller)
        return await self._one_report(command, caller)

    async def _refunds(self, period: int, caller: Caller) -> Outcome:
        """Refunds of a period: how many orders were refunded and how much went back."""
        count, total, currency, token = 0, Decimal(0), "", ""
        while True:
            page = await self.orders.ListOrders(
                orders_pb2.ListOrdersRequest(
                    merchant_id=caller.merchant_id,
                    status=cmd.ORDER_FILTER_REFUNDED,
                    period=period,  # type: ignore[arg-type]
                    page_size=200,
                    page_token=token,
                ),
                **self._call_options(),  # type: ignore[arg-type]
            )
            for order in page.orders:
                count += 1
                total += to_decimal(order.refunded)
                currency = currency or order.refunded.currency_code
            token = page.next_page_token
            if not token:
                break
        amount = money(Money(units=int(total), nanos=int((total - int(total)) * 1_000_000_000), currency_code=currency))
        word = enum_word(cmd.Period, period, "PERIOD_")
        if caller.chinese:
            return Outcome(OK, f"{PERIOD_ZH.get(word, word)}退款{count}笔，共{amount}")
        return Outcome(OK, f"{word.replace('_', ' ')}: {count} refunds, {amount} refunded")

    async def _compare(self, command: cmd.Command, caller: Caller) -> Outcome:
        """This period against another: both figures and the change."""
        slots = command.sales_report
        first = await self._report(slots.metric, slots.period, slots.sku if slots.HasField("sku") else None, caller)
        second = await self._report(
            slots.metric, slots.compare_period, slots.sku if slots.HasField("sku") else None, caller
        )
        metric = enum_word(cmd.Metric, slots.metric, "METRIC_")
        figures = {
            "revenue": lambda r: to_decimal(r.revenue),
            "orders": lambda r: Decimal(r.orders),
            "units": lambda r: Decimal(r.units),
            "avg_rating": lambda r: Decimal(str(r.avg_rating)),
        }
        if metric not in figures:
            return Outcome(OK, f"{first.summary}; {second.summary}")
        now, then = figures[metric](first), figures[metric](second)
        change = f"{(now - then) / then * 100:+.0f}%" if then else ("+∞" if now else "±0")
        shown = {"revenue": (money(first.revenue), money(second.revenue))}.get(metric, (f"{now:g}", f"{then:g}"))
        p1 = enum_word(cmd.Period, slots.period, "PERIOD_")
        p2 = enum_word(cmd.Period, slots.compare_period, "PERIOD_")
        if caller.chinese:
            label = {"revenue": "销售额", "orders": "订单数", "units": "销量", "avg_rating": "评分"}[metric]
            return Outcome(
                OK, f"{PERIOD_ZH.get(p1, p1)}{label}{shown[0]}，{PERIOD_ZH.get(p2, p2)}{shown[1]}（{change}）"
            )
        label = {"revenue": "revenue", "orders": "orders", "units": "units sold", "avg_rating": "rating"}[metric]
        return Outcome(OK, f"{label} {p1.replace('_', ' ')}: {shown[0]}; {p2.replace('_', ' ')}: {shown[1]} ({change})")

    async def _report(
        self, metric: int, period: int, sku: str | None, caller: Caller
    ) -> orders_pb2.SalesReportResponse:
        request = orders_pb2.SalesReportRequest(
            merchant_id=caller.merchant_id,
            metric=metric,  # type: ignore[arg-type]
            period=period,  # type: ignore[arg-type]
        )
        if sku:
            request.sku = sku
        report: orders_pb2.SalesReportResponse = await self.orders.SalesReport(request, **self._call_options())  # type: ignore[arg-type]
        return report

    async def _one_report(self, command: cmd.Command, caller: Caller) -> Outcome:
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
