"""The orders gRPC servicer: the boundary where requests are validated, mapped to
the domain (states, store, rollup, saga) inside one transaction, and back to protos."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc

from services.orders import analytics, periods, rollup, saga, states, store
from services.orders.config import OrdersSettings
from services.orders.model import Line, Order
from shopvoice import idempotency
from shopvoice.common.v1.command_pb2 import Metric, OrderFilter
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.db import Conn, Pool
from shopvoice.errors import FailedPrecondition, InvalidArgument, grpc_boundary
from shopvoice.identifiers import require_merchant, validate_sku
from shopvoice.money import MINOR_UNITS, check_currency, format_amount, from_decimal, minor_digits, to_decimal
from shopvoice.orders.v1 import orders_pb2 as pb
from shopvoice.orders.v1 import orders_pb2_grpc

MAX_LINES = 100
MAX_QUANTITY = 100_000
FILTER_NAMES = {
    OrderFilter.ORDER_FILTER_PENDING: "pending",
    OrderFilter.ORDER_FILTER_UNFULFILLED: "unfulfilled",
    OrderFilter.ORDER_FILTER_SHIPPED: "shipped",
    OrderFilter.ORDER_FILTER_REFUNDED: "refunded",
    OrderFilter.ORDER_FILTER_CANCELLED: "cancelled",
}

Action = Callable[[Conn, Order], Awaitable[str]]


def money(value: Money, currency: str, what: str) -> Decimal:
    """A Money in the order's currency with no more decimals than it has."""
    if value.currency_code and value.currency_code != currency:
        raise InvalidArgument(f"{what} is in {value.currency_code} but the order is in {currency}")
    amount = to_decimal(value)
    if minor_digits(amount) > MINOR_UNITS[currency]:
        raise InvalidArgument(f"{what} {amount} has more decimals than {currency} allows ({MINOR_UNITS[currency]})")
    if amount < 0:
        raise InvalidArgument(f"{what} cannot be negative")
    return amount


def to_proto(order: Order, refunds: list[store.RefundRow] | None = None) -> pb.Order:
    currency = order.currency_code
    message = pb.Order(
        merchant_id=order.merchant_id,
        order_id=str(order.order_id),
        total=from_decimal(order.total, currency),
        refunded=from_decimal(order.refunded, currency),
        customer_ref=order.customer_ref,
        payment_status=pb.PaymentStatus.Value(f"PAYMENT_STATUS_{order.payment_status.upper()}"),
        fulfillment_status=pb.FulfillmentStatus.Value(f"FULFILLMENT_STATUS_{order.fulfillment_status.upper()}"),
        reservation_status=pb.ReservationStatus.Value(f"RESERVATION_STATUS_{order.reservation_status.upper()}"),
        reservation_reason=order.reservation_reason,
        cancel_reason=order.cancel_reason,
        review=order.review,
        version=order.version,
        lines=[
            pb.OrderLine(
                sku=ln.sku, title=ln.title, quantity=ln.quantity, unit_price=from_decimal(ln.unit_price, currency)
            )
            for ln in order.lines
        ],
    )
    if order.rating is not None:
        message.rating = order.rating
    message.created_at.FromDatetime(order.created_at)
    if order.shipped_at is not None:
        shipment = pb.Shipment(carrier=order.carrier, tracking_number=order.tracking_number)
        shipment.shipped_at.FromDatetime(order.shipped_at)
        message.shipments.append(shipment)
    for r in refunds or []:
        refund = pb.Refund(
            refund_id=r.refund_id,
            amount=from_decimal(r.amount, currency),
            restock=r.restock,
            reason=r.reason,
            restocked=[pb.RestockLine(sku=x["sku"], quantity=x["quantity"]) for x in r.restocked],
        )
        refund.created_at.FromDatetime(r.created_at)
        message.refunds.append(refund)
    return message


class OrdersServicer(orders_pb2_grpc.OrdersServiceServicer):
    def __init__(self, pool: Pool, settings: OrdersSettings) -> None:
        self.pool = pool
        self.settings = settings
        self.stream = settings.redis_keys.orders_events

    async def _mutate(
        self, method: str, request: Any, apply: Callable[[Conn, str], Awaitable[pb.OrderResult]]
    ) -> pb.OrderResult:
        """Run `apply` in one transaction with the idempotency key claimed, or replay the first result."""
        return await idempotency.run_once(self.pool, method, request, request.mutation, pb.OrderResult, apply)

    async def _change(self, method: str, request: Any, action: Action) -> pb.OrderResult:
        """Load and lock the order, let `action` move it, save it with its rollup delta."""
        order_id = store.parse_order_id(request.order_id)

        async def apply(conn: Conn, merchant_id: str) -> pb.OrderResult:
            order = await store.load(conn, merchant_id, order_id, for_update=True)
            before = rollup.contribution(order)
            summary = await action(conn, order)
            await store.save(conn, order)
            await rollup.apply(conn, merchant_id, before, rollup.contribution(order))
            refunds = await store.refunds(conn, merchant_id, order_id)
            return pb.OrderResult(order=to_proto(order, refunds), summary=summary)

        return await self._mutate(method, request, apply)

    @grpc_boundary
    async def PlaceOrder(self, request: pb.PlaceOrderRequest, context: grpc.aio.ServicerContext) -> pb.OrderResult:
        if not 1 <= len(request.lines) <= MAX_LINES:
            raise InvalidArgument(f"an order needs 1 to {MAX_LINES} lines")
        if len(request.customer_ref) > 200:
            raise InvalidArgument("customer_ref is longer than 200 characters")

        async def apply(conn: Conn, merchant_id: str) -> pb.OrderResult:
            currency = check_currency(
                request.currency_code
                or await store.merchant_currency(conn, merchant_id)
                or self.settings.default_currency
            )
            lines = []
            for number, line in enumerate(request.lines, start=1):
                if not 1 <= line.quantity <= MAX_QUANTITY:
                    raise InvalidArgument(f"line {number}: quantity must be 1 to {MAX_QUANTITY}")
                if not line.title.strip() or len(line.title) > 200:
                    raise InvalidArgument(f"line {number}: title is required (up to 200 characters)")
                price = money(line.unit_price, currency, f"line {number} unit price")
                lines.append(Line(number, validate_sku(line.sku), line.title.strip(), line.quantity, price))
            order = Order(
                merchant_id=merchant_id,
                order_id=await store.next_order_id(conn, merchant_id, currency),
                currency_code=currency,
                total=sum((ln.amount for ln in lines), Decimal(0)),
                payment_status="paid" if request.paid else "pending",
                fulfillment_status="unfulfilled",
                reservation_status="pending",
                created_at=datetime.now(UTC),
                lines=lines,
                customer_ref=request.customer_ref,
            )
            await store.insert(conn, order)
            await rollup.apply(conn, merchant_id, None, rollup.contribution(order))
            await saga.placed(conn, self.stream, order)
            summary = f"order {order.order_id} placed: {format_amount(order.total, currency)} {currency}"
            return pb.OrderResult(order=to_proto(order), summary=summary)

        return await self._mutate("PlaceOrder", request, apply)

    @grpc_boundary
    async def GetOrder(self, request: pb.GetOrderRequest, context: grpc.aio.ServicerContext) -> pb.Order:
        merchant_id = require_merchant(request.merchant_id)
        order_id = store.parse_order_id(request.order_id)
        async with self.pool.connection() as conn:
            order = await store.load(conn, merchant_id, order_id)
            return to_proto(order, await store.refunds(conn, merchant_id, order_id))

    @grpc_boundary
    async def GetOrderVocabulary(
        self, request: pb.GetOrderVocabularyRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrderVocabulary:
        merchant_id = require_merchant(request.merchant_id)
        async with self.pool.connection() as conn:
            return pb.OrderVocabulary(last_order_id=await store.last_order_id(conn, merchant_id))

    @grpc_boundary
    async def ListOrders(
        self, request: pb.ListOrdersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListOrdersResponse:
        merchant_id = require_merchant(request.merchant_id)
        if request.status and request.status not in FILTER_NAMES:
            raise InvalidArgument(f"status {request.status} is not an order filter this service knows")
        page_size = request.page_size or 20
        if not 1 <= page_size <= 200:
            raise InvalidArgument("page_size must be 1 to 200")
        before_id = None
        if request.page_token:
            try:
                before_id = int(base64.urlsafe_b64decode(request.page_token.encode()).decode())
            except ValueError as exc:
                raise InvalidArgument("page_token is not one this service returned") from exc
        span = None
        if request.period:
            tz = periods.zone(request.time_zone or self.settings.default_time_zone)
            span = periods.resolve(request.period, tz)
        async with self.pool.connection() as conn:
            orders, total = await store.list_orders(
                conn, merchant_id, FILTER_NAMES.get(request.status), span, page_size, before_id
            )
        token = ""
        if len(orders) == page_size:
            token = base64.urlsafe_b64encode(str(orders[-1].order_id).encode()).decode()
        return pb.ListOrdersResponse(orders=[to_proto(o) for o in orders], next_page_token=token, total_count=total)

    @grpc_boundary
    async def ConfirmOrder(self, request: pb.ConfirmOrderRequest, context: grpc.aio.ServicerContext) -> pb.OrderResult:
        async def action(conn: Conn, order: Order) -> str:
            states.confirm(order)
            return f"order {order.order_id} confirmed"

        return await self._change("ConfirmOrder", request, action)

    @grpc_boundary
    async def ShipOrder(self, request: pb.ShipOrderRequest, context: grpc.aio.ServicerContext) -> pb.OrderResult:
        carrier = request.carrier.strip().upper()
        tracking = request.tracking_number.strip()

        async def action(conn: Conn, order: Order) -> str:
            states.ship(order, carrier, tracking, datetime.now(UTC))
            await saga.shipped(conn, self.stream, order, carrier, tracking)
            via = f" via {carrier}" if carrier else ""
            return f"order {order.order_id} shipped{via}" + (f", tracking {tracking}" if tracking else "")

        return await self._change("ShipOrder", request, action)

    @grpc_boundary
    async def MarkDelivered(
        self, request: pb.MarkDeliveredRequest, context: grpc.aio.ServicerContext
    ) -> pb.OrderResult:
        async def action(conn: Conn, order: Order) -> str:
            states.deliver(order)
            return f"order {order.order_id} delivered"

        return await self._change("MarkDelivered", request, action)

    @grpc_boundary
    async def CancelOrder(self, request: pb.CancelOrderRequest, context: grpc.aio.ServicerContext) -> pb.OrderResult:
        async def action(conn: Conn, order: Order) -> str:
            holds_stock = order.reservation_status in ("pending", "reserved")
            refund = states.cancel(order, "cancelled by the merchant")
            release = saga.order_lines(order) if holds_stock else {}
            await saga.cancellation(conn, self.stream, order, refund, release)
            if not refund:
                return f"order {order.order_id} cancelled"
            amount = format_amount(refund, order.currency_code)
            return f"order {order.order_id} cancelled; {amount} {order.currency_code} refunded"

        return await self._change("CancelOrder", request, action)

    @grpc_boundary
    async def RefundOrder(self, request: pb.RefundOrderRequest, context: grpc.aio.ServicerContext) -> pb.OrderResult:
        if len(request.reason) > 500:
            raise InvalidArgument("reason is longer than 500 characters")
        if request.restock_lines and not request.restock:
            raise InvalidArgument("restock_lines given without restock")

        async def action(conn: Conn, order: Order) -> str:
            amount = money(request.amount, order.currency_code, "refund amount") if request.HasField("amount") else None
            restock = self._restock(order, request) if request.restock else {}
            refunded = states.refund(order, amount)
            await store.add_refund(conn, order, refunded, restock, request.reason)
            await saga.refunded(conn, self.stream, order, refunded, restock)
            what = "fully" if order.payment_status == "refunded" else "partially"
            return (
                f"order {order.order_id} {what} refunded: {format_amount(refunded, order.currency_code)}"
                f" {order.currency_code}" + (f", {sum(restock.values())} units restocked" if restock else "")
            )

        return await self._change("RefundOrder", request, action)

    @staticmethod
    def _restock(order: Order, request: pb.RefundOrderRequest) -> dict[str, int]:
        """The units this refund puts back: as asked, or every unit not restocked yet."""
        left: dict[str, int] = {}
        for line in order.lines:
            left[line.sku] = left.get(line.sku, 0) + line.quantity - line.restocked
        if not request.restock_lines:
            return {sku: qty for sku, qty in left.items() if qty}
        asked: dict[str, int] = {}
        for item in request.restock_lines:
            sku = validate_sku(item.sku)
            if item.quantity <= 0:
                raise InvalidArgument(f"restock quantity of {sku} must be positive")
            asked[sku] = asked.get(sku, 0) + item.quantity
        for sku, qty in asked.items():
            if qty > left.get(sku, 0):
                raise FailedPrecondition(
                    f"cannot restock {qty} × {sku} on order {order.order_id}: only {left.get(sku, 0)} can come back"
                )
        return asked

    @grpc_boundary
    async def RateOrder(self, request: pb.RateOrderRequest, context: grpc.aio.ServicerContext) -> pb.OrderResult:
        async def action(conn: Conn, order: Order) -> str:
            states.rate(order, request.rating, request.review)
            return f"order {order.order_id} rated {request.rating}/5"

        return await self._change("RateOrder", request, action)

    @grpc_boundary
    async def SalesReport(
        self, request: pb.SalesReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.SalesReportResponse:
        merchant_id = require_merchant(request.merchant_id)
        tz_name = request.time_zone or self.settings.default_time_zone
        start, end = periods.resolve(request.period, periods.zone(tz_name))
        sku = validate_sku(request.sku) if request.HasField("sku") else None
        metric = request.metric or Metric.METRIC_REVENUE
        if metric not in Metric.values():
            raise InvalidArgument(f"metric {metric} is not one this service knows")
        async with self.pool.connection() as conn:
            currency = await store.merchant_currency(conn, merchant_id) or self.settings.default_currency
            totals = await analytics.totals(conn, merchant_id, sku, start, end)
            top = []
            if metric == Metric.METRIC_TOP_PRODUCTS:
                top = await analytics.top_products(conn, merchant_id, start, end)
        response = pb.SalesReportResponse(
            metric=metric,
            period=request.period,
            revenue=from_decimal(totals.revenue.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency])), currency),
            orders=totals.orders,
            units=totals.units,
            avg_rating=round(totals.avg_rating, 2),
            rated_orders=totals.rating_count,
            time_zone=tz_name,
            top_products=[
                pb.TopProduct(sku=t.sku, title=t.title, units=t.units, revenue=from_decimal(t.revenue, currency))
                for t in top
            ],
        )
        response.to.FromDatetime(end)
        getattr(response, "from").FromDatetime(start)
        response.summary = summarize(metric, periods.NAMES[request.period], sku, totals, top, currency)
        return response


def summarize(
    metric: int, period: str, sku: str | None, totals: rollup.Figures, top: list[analytics.TopProduct], currency: str
) -> str:
    subject = f"{sku} " if sku else ""
    if metric == Metric.METRIC_ORDERS:
        return f"{subject}{period}: {totals.orders} orders"
    if metric == Metric.METRIC_UNITS:
        return f"{subject}{period}: {totals.units} units sold"
    if metric == Metric.METRIC_AVG_RATING:
        if not totals.rating_count:
            return f"{subject}{period}: no ratings yet"
        return f"{subject}{period}: average rating {totals.avg_rating:.2f} from {totals.rating_count} ratings"
    if metric == Metric.METRIC_TOP_PRODUCTS:
        if not top:
            return f"{period}: no sales"
        best = ", ".join(f"{t.sku} {t.title} ({t.units})" for t in top[:3])
        return f"top products {period}: {best}"
    revenue = format_amount(totals.revenue, currency)
    return f"{subject}{period}: revenue {revenue} {currency} from {totals.orders} orders"
