"""Catalog reads and the writes every change shares. Every statement filters on
merchant_id (tenancy): a row of another shop reads exactly like a missing one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import AsyncCursor
from psycopg.rows import DictRow

from services.catalog.messages import Row
from shopvoice.db import Conn
from shopvoice.errors import FailedPrecondition, InvalidArgument, NotFound

VARIANT_COLUMNS = (
    "v.sku, v.product_id, v.option_title, v.price, v.compare_at_price, v.currency_code, v.on_hand, v.committed,"
    " v.version, p.title, p.title_en, p.description, p.status, p.version AS product_version, p.created_at, p.updated_at"
)
VARIANTS = "variants v JOIN products p USING (merchant_id, product_id)"


def no_such_sku(sku: str) -> NotFound:
    return NotFound(f"no product with SKU {sku!r} in this shop")


def parse_product_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise InvalidArgument(f"product_id {text[:80]!r} is not a product id (a UUID from GetProduct)") from exc


async def merchant_currency(conn: Conn, merchant_id: str) -> str | None:
    cur = await conn.execute("SELECT currency_code FROM merchants WHERE merchant_id = %s", (merchant_id,))
    row = await cur.fetchone()
    return str(row["currency_code"]) if row else None


async def ensure_merchant(conn: Conn, merchant_id: str, currency_code: str) -> None:
    await conn.execute(
        "INSERT INTO merchants (merchant_id, name, currency_code) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (merchant_id, merchant_id, currency_code),
    )


async def select_variant_for_update(conn: Conn, merchant_id: str, sku: str) -> AsyncCursor[DictRow]:
    """Lock one variant; the caller fetches the row (None: no such SKU in this shop)."""
    return await conn.execute(
        f"SELECT {VARIANT_COLUMNS} FROM {VARIANTS} WHERE v.merchant_id = %s AND v.sku = %s FOR UPDATE OF v",
        (merchant_id, sku),
    )


async def select_siblings(conn: Conn, merchant_id: str, sku: str) -> AsyncCursor[DictRow]:
    """The other variants of the SKU's product, to answer with the whole product."""
    return await conn.execute(
        f"SELECT {VARIANT_COLUMNS} FROM {VARIANTS} WHERE v.merchant_id = %s AND v.sku <> %s AND v.product_id ="
        " (SELECT product_id FROM variants WHERE merchant_id = %s AND sku = %s)",
        (merchant_id, sku, merchant_id, sku),
    )


async def variant_for_update(conn: Conn, merchant_id: str, sku: str) -> Row:
    row = await (await select_variant_for_update(conn, merchant_id, sku)).fetchone()
    if row is None:
        raise no_such_sku(sku)
    return dict(row)


async def variants_for_update(conn: Conn, merchant_id: str, skus: list[str]) -> dict[str, Row]:
    """Lock several variants in SKU order, so two multi-line reservations never deadlock."""
    cur = await conn.execute(
        f"SELECT {VARIANT_COLUMNS} FROM {VARIANTS} WHERE v.merchant_id = %s AND v.sku = ANY(%s)"
        " ORDER BY v.sku FOR UPDATE OF v",
        (merchant_id, sorted(skus)),
    )
    return {row["sku"]: dict(row) for row in await cur.fetchall()}


def check_version(current: int, expected: int | None, what: str) -> None:
    """Compare-and-swap: a stale expected version changes nothing."""
    if expected is not None and current != expected:
        raise FailedPrecondition(
            f"{what} changed since you read it (version is {current}, you expected {expected}); read it again and retry"
        )


async def product_rows(conn: Conn, merchant_id: str, product_id: Any) -> list[Row]:
    cur = await conn.execute(
        f"SELECT {VARIANT_COLUMNS} FROM {VARIANTS} WHERE v.merchant_id = %s AND v.product_id = %s ORDER BY v.sku",
        (merchant_id, product_id),
    )
    return [dict(r) for r in await cur.fetchall()]


async def product_id_for_sku(conn: Conn, merchant_id: str, sku: str) -> Any:
    cur = await conn.execute("SELECT product_id FROM variants WHERE merchant_id = %s AND sku = %s", (merchant_id, sku))
    row = await cur.fetchone()
    if row is None:
        raise no_such_sku(sku)
    return row["product_id"]


async def product_rows_for_sku(conn: Conn, merchant_id: str, sku: str) -> list[Row]:
    return await product_rows(conn, merchant_id, await product_id_for_sku(conn, merchant_id, sku))


async def sku_exists(conn: Conn, merchant_id: str, skus: list[str]) -> list[str]:
    cur = await conn.execute(
        "SELECT sku FROM variants WHERE merchant_id = %s AND sku = ANY(%s) ORDER BY sku", (merchant_id, skus)
    )
    return [r["sku"] for r in await cur.fetchall()]


async def list_products(
    conn: Conn, merchant_id: str, status: str | None, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Row]:
    """Products in creation order (keyset pagination), `limit` products with all their variants."""
    cur = await conn.execute(
        f"WITH page AS (SELECT product_id, created_at FROM products WHERE merchant_id = %(m)s"
        " AND (%(status)s::text IS NULL OR status = %(status)s)"
        " AND (%(after_at)s::timestamptz IS NULL OR (created_at, product_id) > (%(after_at)s, %(after_id)s::uuid))"
        " ORDER BY created_at, product_id LIMIT %(limit)s)"
        f" SELECT {VARIANT_COLUMNS} FROM page JOIN {VARIANTS} USING (product_id)"
        " WHERE v.merchant_id = %(m)s ORDER BY page.created_at, page.product_id, v.sku",
        {
            "m": merchant_id,
            "status": status,
            "after_at": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
        },
    )
    return [dict(r) for r in await cur.fetchall()]


async def search(conn: Conn, merchant_id: str, folded: str, sku: str, limit: int) -> list[Row]:
    """Variants whose SKU or title matches, best first: exact SKU, SKU prefix,
    exact title, title prefix, title containing the query."""
    cur = await conn.execute(
        f"SELECT {VARIANT_COLUMNS}, CASE WHEN v.sku = %(sku)s THEN 0 WHEN starts_with(v.sku, %(sku)s) THEN 1"
        " WHEN p.search_key = %(q)s THEN 2 WHEN starts_with(p.search_key, %(q)s) THEN 3 ELSE 4 END AS rank"
        f" FROM {VARIANTS} WHERE v.merchant_id = %(m)s AND p.status <> 'archived'"
        " AND (starts_with(v.sku, %(sku)s) OR strpos(p.search_key, %(q)s) > 0"
        " OR strpos(lower(v.option_title), %(q)s) > 0)"
        " ORDER BY rank, length(p.search_key), v.sku LIMIT %(limit)s",
        {"m": merchant_id, "q": folded, "sku": sku, "limit": limit},
    )
    return [dict(r) for r in await cur.fetchall()]


async def vocabulary(conn: Conn, merchant_id: str) -> list[Row]:
    """Every variant's words, the newest products first (the ASR's grammar lists the first titles)."""
    cur = await conn.execute(
        "SELECT v.sku, p.title, p.product_id, p.title_en, p.description, p.status"
        " FROM variants v JOIN products p USING (merchant_id, product_id)"
        " WHERE v.merchant_id = %s ORDER BY p.created_at DESC, v.sku",
        (merchant_id,),
    )
    return [dict(r) for r in await cur.fetchall()]
