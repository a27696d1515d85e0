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
from services.nlu.replies import Language, enum_word, joined, language, money, render, results, word
from shopvoice import tracing
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Actor, ChangeRecord, Confirmation, Mutation
from shopvoice.errors import REFUSALS
from shopvoice.gateway.v1.gateway_pb2 import ResultStatus
from shopvoice.grammar.commands import enum_name
from shopvoice.jobs import BULK_ADJUST_PRICE, BULK_UNDO, EXPORT_SALES_CSV, JobSender
from shopvoice.money import to_decimal
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc
from shopvoice.resolution import CatalogProduct, ProductIndex

OK = ResultStatus.RESULT_STATUS_OK
# "Which products are running low" with no number: fewer than this many available (as the
# worker's low-stock alerts count, LOW_STOCK_THRESHOLD's default).
DEFAULT_LOW_STOCK_THRESHOLD = 5
_STATUS_NAMES = {
    cmd.PRODUCT_STATUS_ACTIVE: "active",
    cmd.PRODUCT_STATUS_DRAFT: "draft",
    cmd.PRODUCT_STATUS_ARCHIVED: "archived",
}


def replayed(text: str, again: bool, lang: Language) -> str:
    """A change's reply; a replayed one (the same utterance again) says nothing changed now."""
    return render("replayed", lang, text=text) if again else text


@dataclass(frozen=True)
class Caller:
    """Who said it, from the gateway's verified token, which utterance it was, in which language."""

    merchant_id: str
    user_id: str
    role: str
    utterance_id: str
    chinese: bool = False  # the language of the turn, decided once (consumer.py); `lang` is its name
    undo_change_id: str = ""  # the session's last applied change, what `undo` reverts
    reply_stream: str = ""  # the session's reply stream: where a worker job's progress goes
    undo_history: tuple[str, ...] = ()  # the session's changes, the last first: what "undo N" reverts
    confirmed_by: str = ""  # who said "confirm" to this command (the guardrails' confirmation)

    @property
    def lang(self) -> Language:
        return language(self.chinese)


@dataclass(frozen=True)
class Outcome:
    status: ResultStatus.ValueType
    message: str
    grpc_code: str = ""
    change_id: str = ""  # a catalog change that `undo` can revert
    change: ChangeRecord | None = None  # what it changed, for the audit trail
    detail: str = ""  # a refusal in the owning service's own (English) words: what guardrail.ask reads


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
            return Outcome(ResultStatus.RESULT_STATUS_NOT_UNDERSTOOD, render("not_understood", caller.lang))
        try:
            return await route(command, caller)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in REFUSALS:
                code, detail = exc.code().name, exc.details() or ""
                text = results.refused(code, command, detail, caller.lang)
                return Outcome(ResultStatus.RESULT_STATUS_REJECTED, text, code, detail=detail)
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
    def _changed(result: catalog_pb2.MutationResult, caller: Caller, kind: str) -> Outcome:
        """A price or stock change (or its undo), rendered from the structured result: the change
        record (before and after) and the variant as it now is; the catalog's summary is not read."""
        change = result.record if result.HasField("record") else None
        text = replayed(results.variant_change(result, caller.lang, kind), result.replayed, caller.lang)
        return Outcome(OK, text, change_id=result.change_id, change=change)

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
        text = render(
            "stock",
            caller.lang,
            sku=variant.sku,
            title=variant.title,
            available=inv.available,
            on_hand=inv.on_hand,
            committed=inv.committed,
        )
        return Outcome(OK, text)

    async def _query_product(self, command: cmd.Command, caller: Caller) -> Outcome:
        request = catalog_pb2.GetProductRequest(merchant_id=caller.merchant_id, sku=command.query_product.sku)
        product = await self.catalog.GetProduct(request, **self._call_options())  # type: ignore[arg-type]
        lang = caller.lang
        status = enum_word("product_status", cmd.ProductStatus, product.status, lang)
        variants = joined(
            [
                render("product_variant", lang, sku=v.sku, price=money(v.price), available=v.inventory.available)
                for v in product.variants
            ],
            lang,
            "list_separator",
        )
        return Outcome(OK, render("product", lang, title=product.title, status=status, variants=variants))

    async def _create_product(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.create_product
        request = catalog_pb2.CreateProductRequest(
            mutation=self._mutation(caller),
            title=slots.title,
            price=slots.price,
            quantity=slots.quantity if slots.HasField("quantity") else 0,
            sku=slots.sku if slots.HasField("sku") else "",
        )
        result = await self.catalog.CreateProduct(request, **self._call_options())  # type: ignore[arg-type]
        text = replayed(results.created(result, caller.lang), result.replayed, caller.lang)
        return Outcome(OK, text, change_id=result.change_id)

    async def _set_product_status(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.set_product_status
        request = catalog_pb2.SetProductStatusRequest(
            mutation=self._mutation(caller), sku=slots.sku, status=slots.status
        )
        result = await self.catalog.SetProductStatus(request, **self._call_options())  # type: ignore[arg-type]
        text = replayed(results.status_change(result, caller.lang), result.replayed, caller.lang)
        return Outcome(OK, text, change_id=result.change_id)

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
        lang = caller.lang
        if not variants:
            return Outcome(OK, render("no_products", lang))
        named = [render("products_item", lang, sku=v.sku, title=p.title, price=money(v.price)) for p, v in variants]
        return Outcome(
            OK, render("products", lang, count=len(variants), **results.listed(named, "products_more", lang))
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
        lang = caller.lang
        if not low:
            return Outcome(OK, render("low_stock_none", lang, threshold=threshold))
        named = [
            render("low_stock_item", lang, sku=sku, title=title, available=available) for available, sku, title in low
        ]
        return Outcome(
            OK,
            render(
                "low_stock", lang, count=len(low), threshold=threshold, **results.listed(named, "products_more", lang)
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
                render("bulk_unavailable", caller.lang),
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
        return Outcome(OK, render("bulk_started", caller.lang, count=count), change_id=f"bulk:{job_id}")

    async def _export(self, command: cmd.Command, caller: Caller) -> Outcome:
        """The worker writes the file and tells the session where it is."""
        slots = command.export_report
        if self.jobs is None:
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                render("export_unavailable", caller.lang),
                "UNAVAILABLE",
            )
        report = enum_name(cmd.Report.DESCRIPTOR, slots.report)  # the worker's job arguments, not words
        period = enum_name(cmd.Period.DESCRIPTOR, slots.period) if slots.HasField("period") else ""
        job_id = f"export-{caller.utterance_id}"
        args = (caller.merchant_id, period, "", report, caller.reply_stream, caller.chinese, job_id)
        await asyncio.to_thread(self.jobs.send, EXPORT_SALES_CSV, args, f"{job_id}:start")
        return Outcome(OK, render("export_started", caller.lang))

    async def _set_product_fact(self, command: cmd.Command, caller: Caller) -> Outcome:
        """A product fact, in the merchant's language (what customers asking in it are answered from)."""
        slots = command.set_product_fact
        request = catalog_pb2.SetProductFactRequest(
            mutation=self._mutation(caller),
            sku=slots.sku,
            name=slots.name,
            language=caller.lang,
            value=slots.value,
        )
        await self.catalog.SetProductFact(request, **self._call_options())  # type: ignore[arg-type]
        name = word("fact", slots.name, caller.lang)
        return Outcome(OK, render("fact_noted", caller.lang, sku=slots.sku, name=name, value=slots.value))

    async def _undo_bulk(self, caller: Caller, job_id: str) -> Outcome:
        if self.jobs is None:
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                render("undo_bulk_unavailable", caller.lang),
                "UNAVAILABLE",
            )
        undo_id = f"undo-{caller.utterance_id}"
        args = (undo_id, job_id, caller.user_id, caller.role, caller.reply_stream, caller.chinese, caller.confirmed_by)
        await asyncio.to_thread(self.jobs.send, BULK_UNDO, args, f"{undo_id}:start")
        return Outcome(OK, render("undo_bulk_started", caller.lang))

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
                render("undo_too_few", caller.lang, count=len(history)),
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
                text = render("undo_partial", caller.lang, count=n, text=outcome.message) if n else outcome.message
                return Outcome(outcome.status, text, outcome.grpc_code)
            summaries.append(outcome.message)
        return Outcome(OK, joined(summaries, caller.lang, "list_separator"))

    async def _undo_one(self, caller: Caller) -> Outcome:
        if caller.undo_change_id.startswith("irreversible:"):
            what = caller.undo_change_id.removeprefix("irreversible:")
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                render("cannot_undo", caller.lang, what=word("irreversible", what, caller.lang, default="other")),
                "FAILED_PRECONDITION",
            )
        if caller.undo_change_id.startswith("bulk:"):
            return await self._undo_bulk(caller, caller.undo_change_id.removeprefix("bulk:"))
        request = catalog_pb2.UndoLastChangeRequest(mutation=self._mutation(caller), change_id=caller.undo_change_id)
        result = await self.catalog.UndoLastChange(request, **self._call_options())  # type: ignore[arg-type]
        lang = caller.lang
        if result.record.field == "status":
            change = results.status_change(result, lang)
        else:
            change = results.variant_change(result, lang)
        # An undo is not itself undone: no change id.
        return Outcome(OK, replayed(render("undone", lang, text=change), result.replayed, lang))

    async def _set_guardrail(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.set_guardrail
        if not slots.HasField("price_change_percent") and not slots.HasField("bulk_threshold"):
            return Outcome(
                ResultStatus.RESULT_STATUS_REJECTED,
                render("guardrail_missing", caller.lang),
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
        result = await self.orders.ConfirmOrder(request, **self._call_options())  # type: ignore[arg-type]
        return self._order_changed(results.order_confirmed(result, caller.lang), result, caller)

    async def _ship_order(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.ship_order
        request = orders_pb2.ShipOrderRequest(
            mutation=self._mutation(caller),
            order_id=slots.order_id,
            carrier=slots.carrier,
            tracking_number=slots.tracking_number,
        )
        result = await self.orders.ShipOrder(request, **self._call_options())  # type: ignore[arg-type]
        return self._order_changed(results.order_shipped(result, caller.lang), result, caller)

    async def _cancel_order(self, command: cmd.Command, caller: Caller) -> Outcome:
        request = orders_pb2.CancelOrderRequest(mutation=self._mutation(caller), order_id=command.cancel_order.order_id)
        result = await self.orders.CancelOrder(request, **self._call_options())  # type: ignore[arg-type]
        return self._order_changed(results.order_cancelled(result, caller.lang), result, caller)

    async def _refund_order(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.refund_order
        request = orders_pb2.RefundOrderRequest(mutation=self._mutation(caller), order_id=slots.order_id)
        if slots.HasField("amount"):
            request.amount.CopyFrom(slots.amount)
        result = await self.orders.RefundOrder(request, **self._call_options())  # type: ignore[arg-type]
        return self._order_changed(results.order_refunded(result, caller.lang), result, caller)

    @staticmethod
    def _order_changed(text: str, result: orders_pb2.OrderResult, caller: Caller) -> Outcome:
        return Outcome(OK, replayed(text, result.replayed, caller.lang))

    async def _query_order(self, command: cmd.Command, caller: Caller) -> Outcome:
        request = orders_pb2.GetOrderRequest(merchant_id=caller.merchant_id, order_id=command.query_order.order_id)
        order = await self.orders.GetOrder(request, **self._call_options())  # type: ignore[arg-type]
        return Outcome(OK, results.order_status(order, caller.lang))

    async def _list_orders(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.list_orders
        request = orders_pb2.ListOrdersRequest(
            merchant_id=caller.merchant_id, status=slots.status, period=slots.period, page_size=5
        )
        response = await self.orders.ListOrders(request, **self._call_options())  # type: ignore[arg-type]
        return Outcome(OK, results.orders_listed(response, slots.status, caller.lang))

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
        return Outcome(OK, results.refunds(period, count, total, currency or "CNY", caller.lang))

    async def _compare(self, command: cmd.Command, caller: Caller) -> Outcome:
        """This period against another: both figures and the change."""
        slots = command.sales_report
        sku = slots.sku if slots.HasField("sku") else None
        first = await self._report(slots.metric, slots.period, sku, caller)
        second = await self._report(slots.metric, slots.compare_period, sku, caller)
        periods = (slots.period, slots.compare_period)
        return Outcome(OK, results.compare(slots.metric, first, second, periods, sku, caller.lang))

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
        """One metric of one period, rendered from the report's figures (its English summary is not read)."""
        slots = command.sales_report
        sku = slots.sku if slots.HasField("sku") else None
        report = await self._report(slots.metric, slots.period, sku, caller)
        return Outcome(OK, results.sales_report(report, slots.period, sku, caller.lang))
