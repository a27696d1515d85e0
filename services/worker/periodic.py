"""Periodic jobs run by beat: low-stock alerts and reminders of paid orders not shipped.

Both read the owning service's API (never its schema) for every shop in
WORKER_MERCHANTS, and publish to `{STREAM_PREFIX}:alerts` at most once per item per
ALERT_PERIOD_S (a dedupe flag written atomically with the alert, once.py): a
run repeated after a crash, or beat firing twice, alerts nothing twice.

Alert entries are flat string fields: kind ("low_stock" | "unshipped_order"),
merchant_id, the item (sku or order_id), the figures (a low stock's title and title_en,
available, threshold; a reminder's placed_at, hours_waiting), and period (its index).
The gateway reads the stream and delivers each alert to its merchant's open sessions.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from services.worker import names
from services.worker.app import app, settings
from services.worker.once import publish_once
from services.worker.runner import run_with_redis
from shopvoice import log, tracing
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.command_pb2 import OrderFilter, ProductStatus
from shopvoice.grpc_server import channel
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc


def current_period() -> int:
    return int(time.time() // settings.alert_period_s)


async def _alert(redis: aioredis.Redis, kind: str, merchant_id: str, item: str, fields: dict[str, str]) -> bool:
    period = current_period()
    return await publish_once(
        redis,
        settings.key("alerted", kind, merchant_id, item, str(period)),
        settings.alerts_stream,
        {"kind": kind, "merchant_id": merchant_id, "period": str(period), **fields},
        flag_ttl_s=settings.alert_period_s * 2,
        maxlen=settings.stream_maxlen,
    )


async def low_stock(redis: aioredis.Redis, merchant_ids: list[str]) -> int:
    """Alert every SKU of a non-archived product whose available stock is below LOW_STOCK_THRESHOLD."""
    sent = 0
    async with channel(settings.catalog_addr) as catalog_channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(catalog_channel)
        for merchant_id in merchant_ids:
            token = ""
            while True:
                page = await catalog.ListProducts(
                    catalog_pb2.ListProductsRequest(merchant_id=merchant_id, page_size=250, page_token=token),
                    timeout=settings.rpc_timeout_s,
                    metadata=tuple(tracing.current_metadata()),
                )
                for product in page.products:
                    if product.status == ProductStatus.PRODUCT_STATUS_ARCHIVED:
                        continue
                    for variant in product.variants:
                        if variant.inventory.available < settings.low_stock_threshold:
                            sent += await _alert(
                                redis,
                                "low_stock",
                                merchant_id,
                                variant.sku,
                                {
                                    "sku": variant.sku,
                                    "title": product.title,
                                    "title_en": product.title_en,
                                    "available": str(variant.inventory.available),
                                    "threshold": str(settings.low_stock_threshold),
                                },
                            )
                token = page.next_page_token
                if not token:
                    break
    return sent


async def unshipped(redis: aioredis.Redis, merchant_ids: list[str], now: datetime | None = None) -> int:
    """Remind of every paid order still waiting to ship UNSHIPPED_REMINDER_HOURS after it was placed."""
    cutoff = (now or datetime.now(UTC)) - timedelta(hours=float(settings.unshipped_reminder_hours))
    sent = 0
    async with channel(settings.orders_addr) as orders_channel:
        orders = orders_pb2_grpc.OrdersServiceStub(orders_channel)
        for merchant_id in merchant_ids:
            token = ""
            while True:
                page = await orders.ListOrders(
                    orders_pb2.ListOrdersRequest(
                        merchant_id=merchant_id,
                        status=OrderFilter.ORDER_FILTER_UNFULFILLED,
                        page_size=200,
                        page_token=token,
                    ),
                    timeout=settings.rpc_timeout_s,
                    metadata=tuple(tracing.current_metadata()),
                )
                for order in page.orders:
                    placed = order.created_at.ToDatetime(tzinfo=UTC)
                    if order.payment_status != orders_pb2.PaymentStatus.PAYMENT_STATUS_PAID or placed > cutoff:
                        continue
                    hours = (datetime.now(UTC) - placed).total_seconds() / 3600
                    sent += await _alert(
                        redis,
                        "unshipped_order",
                        merchant_id,
                        order.order_id,
                        {"order_id": order.order_id, "placed_at": placed.isoformat(), "hours_waiting": f"{hours:.1f}"},
                    )
                token = page.next_page_token
                if not token:
                    break
    return sent


@app.task(name=names.LOW_STOCK_ALERTS)
def low_stock_alerts() -> int:
    """Beat: low-stock alerts for WORKER_MERCHANTS; returns how many were new."""
    sent = run_with_redis(settings.redis_url, lambda redis: low_stock(redis, settings.merchant_ids))
    log.get().info("low-stock alerts", sent=sent, merchants=len(settings.merchant_ids))
    return sent


@app.task(name=names.UNSHIPPED_REMINDERS)
def unshipped_reminders() -> int:
    """Beat: reminders of paid orders unshipped after UNSHIPPED_REMINDER_HOURS; returns how many were new."""
    sent = run_with_redis(settings.redis_url, lambda redis: unshipped(redis, settings.merchant_ids))
    log.get().info("unshipped-order reminders", sent=sent, merchants=len(settings.merchant_ids))
    return sent
