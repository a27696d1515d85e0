"""The catalog's gRPC servicer: validation, idempotency and the mapping to protos."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import grpc
import redis.asyncio as aioredis

from services.catalog import store
from services.catalog.config import CatalogSettings
from services.catalog.validation import validate_price, validate_sku, validate_title
from shopvoice import idempotency, outbox
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.command_pb2 import ProductStatus
from shopvoice.db import Conn, Pool
from shopvoice.errors import InvalidArgument, grpc_boundary
from shopvoice.events.v1 import events_pb2
from shopvoice.money import format_amount, from_decimal, quantize

STATUS_TO_DB = {
    ProductStatus.PRODUCT_STATUS_ACTIVE: "active",
    ProductStatus.PRODUCT_STATUS_DRAFT: "draft",
    ProductStatus.PRODUCT_STATUS_ARCHIVED: "archived",
}
STATUS_FROM_DB = {v: k for k, v in STATUS_TO_DB.items()}


def require_merchant(merchant_id: str) -> str:
    if not merchant_id or len(merchant_id) > 64:
        raise InvalidArgument("merchant_id is required (1-64 characters)")
    return merchant_id


def to_product(merchant_id: str, rows: list[dict[str, Any]]) -> pb.Product:
    first = rows[0]
    product = pb.Product(
        merchant_id=merchant_id,
        product_id=str(first["product_id"]),
        title=first["title"],
        description=first["description"],
        status=STATUS_FROM_DB[first["status"]],
        version=first["product_version"],
    )
    product.created_at.FromDatetime(first["created_at"])
    product.updated_at.FromDatetime(first["updated_at"])
    for row in rows:
        product.variants.append(to_variant(row))
    return product


def to_variant(row: dict[str, Any]) -> pb.Variant:
    currency = row["currency_code"]
    variant = pb.Variant(
        sku=row["sku"],
        title=row["title"],
        product_id=str(row["product_id"]),
        price=from_decimal(quantize(row["price"], currency), currency),
        inventory=pb.Inventory(
            on_hand=row["on_hand"], committed=row["committed"], available=row["on_hand"] - row["committed"]
        ),
        version=row["version"],
    )
    if row["compare_at_price"] is not None:
        variant.compare_at_price.CopyFrom(from_decimal(row["compare_at_price"], currency))
    return variant


class CatalogServicer(catalog_pb2_grpc.CatalogServiceServicer):
    def __init__(self, pool: Pool, redis: aioredis.Redis, settings: CatalogSettings) -> None:
        self.pool = pool
        self.redis = redis
        self.settings = settings
        self.events_stream = f"{settings.stream_prefix}:events:catalog"

    async def _mutate(
        self,
        method: str,
        request: Any,
        mutation: pb.Mutation,
        apply: Callable[[Conn, str], Awaitable[pb.MutationResult]],
    ) -> pb.MutationResult:
        """Run `apply` in one transaction with the idempotency key claimed, or replay."""
        merchant_id = require_merchant(mutation.merchant_id)
        digest = idempotency.request_hash(method, request)
        async with self.pool.connection() as conn, conn.transaction():
            stored = await idempotency.claim(conn, merchant_id, mutation.idempotency_key, method, digest)
            if stored is not None:
                replay = pb.MutationResult.FromString(stored)
                replay.replayed = True
                return replay
            result = await apply(conn, merchant_id)
            await idempotency.remember(conn, merchant_id, mutation.idempotency_key, result)
            return result

    async def _product_result(
        self, conn: Conn, merchant_id: str, sku: str, change_id: str, summary: str
    ) -> pb.MutationResult:
        product_id = await store.product_id_for_sku(conn, merchant_id, sku)
        rows = await store.product_rows(conn, merchant_id, product_id)
        return pb.MutationResult(product=to_product(merchant_id, rows), sku=sku, change_id=change_id, summary=summary)

    @grpc_boundary
    async def CreateProduct(
        self, request: pb.CreateProductRequest, context: grpc.aio.ServicerContext
    ) -> pb.MutationResult:
        title = validate_title(request.title)
        sku = validate_sku(request.sku) if request.sku else ""
        if request.quantity < 0:
            raise InvalidArgument("quantity cannot be negative")

        async def apply(conn: Conn, merchant_id: str) -> pb.MutationResult:
            currency = await store.merchant_currency(conn, merchant_id, self.settings.default_currency)
            price = validate_price(request.price, currency, self.settings.max_price)
            status = STATUS_TO_DB.get(request.status, "active")
            cur = await conn.execute(
                "INSERT INTO products (merchant_id, title, description, status)"
                " VALUES (%s, %s, %s, %s) RETURNING product_id",
                (merchant_id, title, request.description, status),
            )
            row = await cur.fetchone()
            assert row is not None
            product_id = row["product_id"]
            final_sku = sku or f"P{str(product_id).replace('-', '')[:8].upper()}"
            exists = await (
                await conn.execute(
                    "SELECT 1 FROM variants WHERE merchant_id = %s AND sku = %s", (merchant_id, final_sku)
                )
            ).fetchone()
            if exists:
                from shopvoice.errors import AlreadyExists

                raise AlreadyExists(f"SKU {final_sku} already exists in this shop; choose another SKU")
            await conn.execute(
                "INSERT INTO variants (merchant_id, sku, product_id, price, currency_code, on_hand)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (merchant_id, final_sku, product_id, price, currency, request.quantity),
            )
            event = outbox.new_event(merchant_id)
            event.product_changed.CopyFrom(
                events_pb2.ProductChanged(
                    product_id=str(product_id), skus=[final_sku], title=title, status=STATUS_FROM_DB[status]
                )
            )
            await outbox.enqueue(conn, self.events_stream, event)
            return await self._product_result(
                conn,
                merchant_id,
                final_sku,
                "",
                f"created {title} ({final_sku}) at {format_amount(price, currency)} {currency}",
            )

        return await self._mutate("CreateProduct", request, request.mutation, apply)

    @grpc_boundary
    async def GetProduct(self, request: pb.GetProductRequest, context: grpc.aio.ServicerContext) -> pb.Product:
        merchant_id = require_merchant(request.merchant_id)
        async with self.pool.connection() as conn:
            if request.WhichOneof("ref") == "product_id":
                product_id: Any = request.product_id
            else:
                product_id = await store.product_id_for_sku(conn, merchant_id, validate_sku(request.sku))
            rows = await store.product_rows(conn, merchant_id, product_id)
        if not rows:
            from shopvoice.errors import NotFound

            raise NotFound("no such product in this shop")
        return to_product(merchant_id, rows)

    @grpc_boundary
    async def GetVocabulary(self, request: pb.GetVocabularyRequest, context: grpc.aio.ServicerContext) -> pb.Vocabulary:
        merchant_id = require_merchant(request.merchant_id)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT v.sku, p.title, p.product_id, greatest(max(v.updated_at), max(p.updated_at)) AS changed"
                " FROM variants v JOIN products p USING (merchant_id, product_id)"
                " WHERE v.merchant_id = %s AND p.status <> 'archived'"
                " GROUP BY v.sku, p.title, p.product_id ORDER BY v.sku",
                (merchant_id,),
            )
            rows = await cur.fetchall()
        vocab = pb.Vocabulary(
            entries=[pb.VocabularyEntry(sku=r["sku"], title=r["title"], product_id=str(r["product_id"])) for r in rows]
        )
        vocab.revision = max((int(r["changed"].timestamp() * 1e6) for r in rows), default=0)
        return vocab

    @grpc_boundary
    async def SetPrice(self, request: pb.SetPriceRequest, context: grpc.aio.ServicerContext) -> pb.MutationResult:
        sku = validate_sku(request.sku)

        async def apply(conn: Conn, merchant_id: str) -> pb.MutationResult:
            row = await store.variant_for_update(conn, merchant_id, sku)
            store.check_version(
                row, request.mutation.expected_version if request.mutation.HasField("expected_version") else None
            )
            currency = row["currency_code"]
            price = validate_price(request.price, currency, self.settings.max_price)
            old: Decimal = row["price"]
            await store.update_price(conn, merchant_id, sku, price)
            actor = request.mutation.actor
            change_id = await store.record_change(
                conn, merchant_id, sku, "price", str(old), str(price), actor.user_id, actor.command_id
            )
            event = outbox.new_event(merchant_id)
            event.price_changed.CopyFrom(
                events_pb2.PriceChanged(
                    sku=sku,
                    old_price=from_decimal(old, currency),
                    new_price=from_decimal(price, currency),
                    change_id=change_id,
                )
            )
            await outbox.enqueue(conn, self.events_stream, event)
            summary = f"{sku} price {format_amount(old, currency)} → {format_amount(price, currency)} {currency}"
            return await self._product_result(conn, merchant_id, sku, change_id, summary)

        return await self._mutate("SetPrice", request, request.mutation, apply)
