"""The services' structured results, in the merchant's words.

Each function takes what a catalog or orders RPC answered and renders it with the templates of
one language; a service's free-text `summary` is never read.
"""

from __future__ import annotations

from decimal import Decimal

from services.nlu.replies import (
    TABLES,
    Language,
    amount,
    decimal_amount,
    enum_word,
    joined,
    money,
    render,
    word,
)
from shopvoice.catalog.v1 import catalog_pb2
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.money import format_amount, to_decimal
from shopvoice.orders.v1 import orders_pb2

LISTED = 10  # items named in a reply; the rest are counted
TOP = 3  # best sellers named in a report


def listed(items: list[str], more_key: str, lang: Language) -> dict[str, str]:
    """The first LISTED items joined, and "and N more" for the rest: the fields `items` and `more`."""
    more = len(items) - LISTED
    return {
        "items": joined(items[:LISTED], lang, "list_separator"),
        "more": render(more_key, lang, count=more) if more > 0 else "",
    }


def refused(code: str, command: cmd.Command, detail: str, lang: Language) -> str:
    """An owning service's refusal (a gRPC status code and its message). Its message is English
    free text: said as it is to an English speaker; a Chinese one hears what was refused and why
    in kind (not found, not allowed now, ...), from the code and the command's subject."""
    if lang == "en" and detail:
        return detail
    intent = command.WhichOneof("intent") or ""
    slots = getattr(command, intent) if intent else None
    if (sku := getattr(slots, "sku", "")) and isinstance(sku, str):
        subject = render("subject_product", lang, sku=sku)
    elif order_id := getattr(slots, "order_id", ""):
        subject = render("subject_order", lang, order_id=order_id)
    else:
        subject = render("subject_other", lang)
    key = f"refused_{code.lower()}"
    return render(key if key in REFUSED_KEYS else "refused_other", lang, subject=subject)


REFUSED_KEYS = frozenset(key for key in TABLES["en"]["text"] if key.startswith("refused_"))


# -- catalog ------------------------------------------------------------------------------------


def variant_change(result: catalog_pb2.MutationResult, lang: Language, kind: str = "") -> str:
    """A price or stock change (`kind`, else the record's field): before → after from the change
    record, or without one what the variant is now."""
    variant = next((v for v in result.product.variants if v.sku == result.sku), None)
    record = result.record
    kind = kind or record.field
    if variant is None:
        return result.sku
    if kind == "price" and record.field == "price":
        return render(
            "price_changed",
            lang,
            sku=result.sku,
            before=record.before,
            after=record.after,
            currency=word("currency", variant.price.currency_code or "CNY", lang),
        )
    if kind == "price":
        return render("price_now", lang, sku=result.sku, price=money(variant.price))
    inventory = variant.inventory
    if record.field == "stock":
        return render(
            "stock_changed",
            lang,
            sku=result.sku,
            before=record.before,
            on_hand=inventory.on_hand,
            available=inventory.available,
        )
    return render("stock_now", lang, sku=result.sku, on_hand=inventory.on_hand, available=inventory.available)


def status_change(result: catalog_pb2.MutationResult, lang: Language) -> str:
    """A product listed, unlisted or drafted (or already so)."""
    status = enum_word("product_status", cmd.ProductStatus, result.product.status, lang)
    key = "status_changed" if result.record.field == "status" else "status_unchanged"
    return render(key, lang, title=result.product.title, sku=result.sku, status=status)


# -- orders -------------------------------------------------------------------------------------


def order_confirmed(result: orders_pb2.OrderResult, lang: Language) -> str:
    return render("order_confirmed", lang, order_id=result.order.order_id)


def order_shipped(result: orders_pb2.OrderResult, lang: Language) -> str:
    order = result.order
    shipment = order.shipments[-1] if order.shipments else None
    carrier = shipment.carrier if shipment is not None else ""
    tracking = shipment.tracking_number if shipment is not None else ""
    return render(
        "order_shipped",
        lang,
        order_id=order.order_id,
        via=render("ship_via", lang, carrier=word("carrier", carrier, lang)) if carrier else "",
        tracking=render("ship_tracking", lang, tracking=tracking) if tracking else "",
    )


def order_cancelled(result: orders_pb2.OrderResult, lang: Language) -> str:
    order = result.order
    if to_decimal(order.refunded) > 0:
        return render("order_cancelled_refunded", lang, order_id=order.order_id, amount=amount(order.refunded, lang))
    return render("order_cancelled", lang, order_id=order.order_id)


def order_refunded(result: orders_pb2.OrderResult, lang: Language) -> str:
    """This refund (the order's last): how much, whether the order is now fully refunded, what came back."""
    order = result.order
    refund = order.refunds[-1] if order.refunds else None
    value = amount(refund.amount, lang) if refund is not None else amount(order.refunded, lang)
    units = sum(line.quantity for line in refund.restocked) if refund is not None else 0
    fully = order.payment_status == orders_pb2.PAYMENT_STATUS_REFUNDED
    return render(
        "order_refunded_fully" if fully else "order_refunded_partially",
        lang,
        order_id=order.order_id,
        amount=value,
        restocked=render("restocked", lang, units=units) if units else "",
    )


def order_status(order: orders_pb2.Order, lang: Language) -> str:
    shipment = order.shipments[-1] if order.shipments else None
    return render(
        "order_status",
        lang,
        order_id=order.order_id,
        fulfillment=enum_word("fulfillment", orders_pb2.FulfillmentStatus, order.fulfillment_status, lang),
        payment=enum_word("payment", orders_pb2.PaymentStatus, order.payment_status, lang),
        total=money(order.total),
        shipment=render(
            "order_shipment",
            lang,
            carrier=word("carrier", shipment.carrier, lang),
            tracking=shipment.tracking_number,
        )
        if shipment is not None
        else "",
    )


def orders_listed(response: orders_pb2.ListOrdersResponse, status: int, lang: Language) -> str:
    ids = ", ".join(o.order_id for o in response.orders)
    shown = render("order_ids", lang, ids=ids) if ids else ""
    if not status:
        return render("orders_count", lang, count=response.total_count, ids=shown)
    label = enum_word("order_filter", cmd.OrderFilter, status, lang)
    return render("orders_count_status", lang, count=response.total_count, status=label, ids=shown)


# -- sales reports ------------------------------------------------------------------------------


def period_words(period: int, lang: Language) -> str:
    return enum_word("period", cmd.Period, period, lang)


def sales_report(report: orders_pb2.SalesReportResponse, period: int, sku: str | None, lang: Language) -> str:
    """One metric over one period, from the report's figures."""
    when = period_words(period, lang)
    subject = render("report_subject", lang, sku=sku) if sku else ""
    metric = report.metric or cmd.METRIC_REVENUE
    if metric == cmd.METRIC_ORDERS:
        return render("report_orders", lang, subject=subject, period=when, orders=report.orders)
    if metric == cmd.METRIC_UNITS:
        return render("report_units", lang, subject=subject, period=when, units=report.units)
    if metric == cmd.METRIC_AVG_RATING:
        if not report.rated_orders:
            return render("report_no_ratings", lang, subject=subject, period=when)
        return render(
            "report_rating",
            lang,
            subject=subject,
            period=when,
            rating=f"{report.avg_rating:.2f}",
            ratings=report.rated_orders,
        )
    if metric == cmd.METRIC_TOP_PRODUCTS:
        if not report.top_products:
            return render("report_no_sales", lang, period=when)
        best = [render("top_item", lang, sku=t.sku, title=t.title, units=t.units) for t in report.top_products[:TOP]]
        return render("report_top", lang, period=when, items=joined(best, lang))
    return render(
        "report_revenue", lang, subject=subject, period=when, amount=amount(report.revenue, lang), orders=report.orders
    )


def refunds(period: int, count: int, total: Decimal, currency: str, lang: Language) -> str:
    return render(
        "refunds", lang, period=period_words(period, lang), count=count, amount=decimal_amount(total, currency, lang)
    )


def _figure(metric: int, report: orders_pb2.SalesReportResponse) -> Decimal:
    if metric == cmd.METRIC_REVENUE:
        return to_decimal(report.revenue)
    if metric == cmd.METRIC_ORDERS:
        return Decimal(report.orders)
    if metric == cmd.METRIC_UNITS:
        return Decimal(report.units)
    return Decimal(str(report.avg_rating))


COMPARABLE = (cmd.METRIC_REVENUE, cmd.METRIC_ORDERS, cmd.METRIC_UNITS, cmd.METRIC_AVG_RATING)


def compare(
    metric: int,
    first: orders_pb2.SalesReportResponse,
    second: orders_pb2.SalesReportResponse,
    periods: tuple[int, int],
    sku: str | None,
    lang: Language,
) -> str:
    """This period against another: both figures and the change; a metric with no one figure
    (top products) is both reports, one after the other."""
    if metric not in COMPARABLE:
        return render(
            "compare_both",
            lang,
            first=sales_report(first, periods[0], sku, lang),
            second=sales_report(second, periods[1], sku, lang),
        )
    now, then = _figure(metric, first), _figure(metric, second)
    change = f"{(now - then) / then * 100:+.0f}%" if then else ("+∞" if now else "±0")
    if metric == cmd.METRIC_REVENUE:
        shown = (amount(first.revenue, lang), amount(second.revenue, lang))
    else:
        shown = (f"{now:g}", f"{then:g}")
    return render(
        "compare",
        lang,
        metric=enum_word("metric", cmd.Metric, metric, lang),
        period=period_words(periods[0], lang),
        now=shown[0],
        compare_period=period_words(periods[1], lang),
        then=shown[1],
        change=change,
    )


def created(result: catalog_pb2.MutationResult, lang: Language) -> str:
    product = result.product
    currency = product.variants[0].price.currency_code if product.variants else "CNY"
    prices = [
        render("product_created_price", lang, sku=v.sku, price=format_amount(to_decimal(v.price), currency))
        for v in product.variants
    ]
    return render(
        "product_created",
        lang,
        title=product.title,
        prices=joined(prices, lang),
        currency=word("currency", currency, lang),
    )
