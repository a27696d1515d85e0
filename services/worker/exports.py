"""Report exports: a period's sales as CSV, one row per order line, from the orders API.

The orders schema belongs to the orders service: the rows come from ListOrders
(paged) and the period's bounds and zone from SalesReport, never from its tables.
The file is written beside its final name and renamed into place, so a reader
never sees half a file, and a re-run (a redelivery) replaces it with the same rows.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
import tempfile
from pathlib import Path

import grpc
import redis.asyncio as aioredis
from celery import Task

from services.worker import names
from services.worker.app import app, settings
from services.worker.runner import run_with_redis
from shopvoice import tracing
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.command_pb2 import Metric, Period, ProductStatus
from shopvoice.gateway.v1.gateway_pb2 import Result, ResultStatus, ServerMessage
from shopvoice.grpc_server import channel
from shopvoice.money import format_amount, to_decimal
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc
from shopvoice.replies import ReplyPublisher

COLUMNS = [
    "order_id",
    "created_at",
    "customer_ref",
    "payment_status",
    "fulfillment_status",
    "sku",
    "title",
    "quantity",
    "unit_price",
    "line_total",
    "currency",
]
PAGE_SIZE = 200  # the orders service's largest page


def period_value(period: str) -> Period.ValueType:
    try:
        return Period.Value(f"PERIOD_{period.upper()}")
    except ValueError as exc:
        known = [n for n in Period.keys() if n != "PERIOD_UNSPECIFIED"]  # noqa: SIM118 - an enum wrapper, not a dict
        choices = ", ".join(n.removeprefix("PERIOD_").lower() for n in known)
        raise ValueError(f"period {period!r} is not one of {choices}") from exc


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text) or "_"


def _rows(order: orders_pb2.Order) -> list[list[str]]:
    rows = []
    for line in order.lines:
        currency = line.unit_price.currency_code or order.total.currency_code
        unit = to_decimal(line.unit_price)
        rows.append(
            [
                order.order_id,
                order.created_at.ToDatetime().isoformat() + "Z",
                order.customer_ref,
                orders_pb2.PaymentStatus.Name(order.payment_status).removeprefix("PAYMENT_STATUS_").lower(),
                orders_pb2.FulfillmentStatus.Name(order.fulfillment_status).removeprefix("FULFILLMENT_STATUS_").lower(),
                line.sku,
                line.title,
                str(line.quantity),
                format_amount(unit, currency),
                format_amount(unit * line.quantity, currency),
                currency,
            ]
        )
    return rows


async def export_sales(merchant_id: str, period: str, time_zone: str) -> str:
    wanted = period_value(period)
    options = {"timeout": settings.rpc_timeout_s, "metadata": tracing.current_metadata()}
    async with channel(settings.orders_addr) as orders_channel:
        orders = orders_pb2_grpc.OrdersServiceStub(orders_channel)
        report = await orders.SalesReport(
            orders_pb2.SalesReportRequest(
                merchant_id=merchant_id, metric=Metric.METRIC_REVENUE, period=wanted, time_zone=time_zone
            ),
            **options,  # type: ignore[arg-type]
        )
        start = getattr(report, "from").ToDatetime()  # `from` is a Python keyword
        name = f"sales-{_safe(merchant_id)}-{period}-{start:%Y%m%d}.csv"
        directory = Path(settings.export_dir) / _safe(merchant_id)
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(COLUMNS)
                token = ""
                while True:
                    page = await orders.ListOrders(
                        orders_pb2.ListOrdersRequest(
                            merchant_id=merchant_id,
                            period=wanted,
                            page_size=PAGE_SIZE,
                            page_token=token,
                            time_zone=report.time_zone or time_zone,
                        ),
                        **options,  # type: ignore[arg-type]
                    )
                    for order in page.orders:
                        writer.writerows(_rows(order))
                    token = page.next_page_token
                    if not token:
                        break
            final = directory / name
            os.replace(temporary, final)
        except BaseException:
            os.unlink(temporary)
            raise
    return str(final)


PRODUCT_COLUMNS = ["sku", "title", "title_en", "status", "price", "currency", "on_hand", "available"]


async def export_products(merchant_id: str) -> str:
    """The shop's products as CSV, one row per SKU, from the catalog's ListProducts."""
    options = {"timeout": settings.rpc_timeout_s, "metadata": tracing.current_metadata()}
    directory = Path(settings.export_dir) / _safe(merchant_id)
    directory.mkdir(parents=True, exist_ok=True)
    name = f"products-{_safe(merchant_id)}.csv"
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
    try:
        async with channel(settings.catalog_addr) as catalog_channel:
            catalog = catalog_pb2_grpc.CatalogServiceStub(catalog_channel)
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(PRODUCT_COLUMNS)
                token = ""
                while True:
                    page = await catalog.ListProducts(
                        catalog_pb2.ListProductsRequest(merchant_id=merchant_id, page_size=250, page_token=token),
                        **options,  # type: ignore[arg-type]
                    )
                    for product in page.products:
                        status = ProductStatus.Name(product.status).removeprefix("PRODUCT_STATUS_").lower()
                        for v in product.variants:
                            currency = v.price.currency_code
                            writer.writerow(
                                [
                                    v.sku,
                                    product.title,
                                    product.title_en,
                                    status,
                                    format_amount(to_decimal(v.price), currency),
                                    currency,
                                    v.inventory.on_hand,
                                    v.inventory.available,
                                ]
                            )
                    token = page.next_page_token
                    if not token:
                        break
        final = directory / name
        os.replace(temporary, final)
    except BaseException:
        os.unlink(temporary)
        raise
    return str(final)


def _export_reply(job_id: str, path: str, chinese: bool) -> ServerMessage:
    text = f"导出完成：{path}" if chinese else f"Export ready: {path}"
    return ServerMessage(utterance_id=job_id, result=Result(status=ResultStatus.RESULT_STATUS_OK, message=text))


@app.task(name=names.EXPORT_SALES_CSV, bind=True, max_retries=5)
def export_sales_csv(
    self: Task,
    merchant_id: str,
    period: str,
    time_zone: str = "",
    report: str = "sales",
    reply_stream: str = "",
    chinese: bool = False,
    job_id: str = "",
) -> str:
    """CSV of a period's sales (every order line; report "orders" too) or of the products (report
    "products", no period) under EXPORT_DIR/{merchant}/; returns the file's path, and tells the
    session where it is when a reply stream is given."""
    try:
        if report == "products":
            path = asyncio.run(export_products(merchant_id))
        else:
            path = asyncio.run(export_sales(merchant_id, period, time_zone))
    except grpc.aio.AioRpcError as exc:
        if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise self.retry(exc=exc, countdown=5) from exc
        raise
    if reply_stream:

        async def send(redis: aioredis.Redis) -> None:
            await ReplyPublisher(redis, settings.reply_ttl_s).send(reply_stream, _export_reply(job_id, path, chinese))

        run_with_redis(settings.redis_url, send)
    return path
