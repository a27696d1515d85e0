"""A shop of thousands of SKUs, created through the catalog's API, and what its prices became."""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_EVEN, Decimal

import grpc
import psycopg

from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.money import from_decimal

VARIANTS_PER_PRODUCT = 10


def price_of(i: int) -> Decimal:
    """Varied prices with every cent ending, so half-even rounding of ×1.1 is exercised (x.x5)."""
    return Decimal(1000 + (i * 7919) % 90000) / 100


def expected_after(old: Decimal, percent: str) -> Decimal:
    return (old * (1 + Decimal(percent) / 100)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


async def _create(address: str, merchant_id: str, title: str, prefix: str, count: int) -> dict[str, Decimal]:
    prices: dict[str, Decimal] = {}
    limit = asyncio.Semaphore(32)
    async with grpc.aio.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)

        async def product(p: int) -> None:
            variants = []
            for v in range(VARIANTS_PER_PRODUCT):
                i = p * VARIANTS_PER_PRODUCT + v
                if i >= count:
                    break
                sku = f"{prefix}{i:05d}"
                prices[sku] = price_of(i)
                variants.append(
                    catalog_pb2.NewVariant(
                        sku=sku, option_title=f"#{v}", price=from_decimal(prices[sku], "CNY"), quantity=i % 9
                    )
                )
            async with limit:
                await stub.CreateProduct(
                    catalog_pb2.CreateProductRequest(
                        mutation=Mutation(merchant_id=merchant_id, idempotency_key=f"seed-{prefix}-{p}"),
                        title=f"{title} {p}",
                        variants=variants,
                    ),
                    timeout=30,
                )

        products = -(-count // VARIANTS_PER_PRODUCT)
        await asyncio.gather(*(product(p) for p in range(products)))
    return prices


def create_skus(address: str, merchant_id: str, title: str, prefix: str, count: int) -> dict[str, Decimal]:
    """`count` SKUs in products of ten, titled "{title} {n}"; returns sku -> price."""
    return asyncio.run(_create(address, merchant_id, title, prefix, count))


def prices_now(database_url: str, merchant_id: str) -> dict[str, Decimal]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT sku, price FROM catalog.variants WHERE merchant_id = %s", (merchant_id,)).fetchall()
    return {sku: Decimal(price) for sku, price in rows}


def price_changes_by_sku(database_url: str, merchant_id: str, command_id: str) -> dict[str, int]:
    """How many 'price' changes each SKU got from this command (the catalog's own history)."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT sku, count(*) FROM catalog.changes WHERE merchant_id = %s AND kind = 'price' AND command_id = %s GROUP BY sku",
            (merchant_id, command_id),
        ).fetchall()
    return {sku: n for sku, n in rows}
