"""Catalog persistence: every statement filters on merchant_id (tenancy)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shopvoice.db import Conn
from shopvoice.errors import FailedPrecondition, NotFound

VARIANT_COLUMNS = (
    "v.sku, v.product_id, v.price, v.compare_at_price, v.currency_code, v.on_hand, v.committed, v.version,"
    " p.title, p.description, p.status, p.version AS product_version, p.created_at, p.updated_at"
)


async def merchant_currency(conn: Conn, merchant_id: str, default: str) -> str:
    cur = await conn.execute("SELECT currency_code FROM merchants WHERE merchant_id = %s", (merchant_id,))
    row = await cur.fetchone()
    return str(row["currency_code"]) if row else default


async def ensure_merchant(conn: Conn, merchant_id: str, currency_code: str) -> None:
    await conn.execute(
        "INSERT INTO merchants (merchant_id, name, currency_code) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (merchant_id, merchant_id, currency_code),
    )


async def variant_for_update(conn: Conn, merchant_id: str, sku: str) -> dict[str, Any]:
    cur = await conn.execute(
        f"SELECT {VARIANT_COLUMNS} FROM variants v JOIN products p USING (merchant_id, product_id)"
        " WHERE v.merchant_id = %s AND v.sku = %s FOR UPDATE OF v",
        (merchant_id, sku),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no product with SKU {sku!r} in this shop")
    return dict(row)


def check_version(row: dict[str, Any], expected: int | None) -> None:
    if expected is not None and row["version"] != expected:
        raise FailedPrecondition(
            f"SKU {row['sku']} changed since you read it (version {row['version']}, you expected {expected});"
            " read it again and retry"
        )


async def product_rows(conn: Conn, merchant_id: str, product_id: Any) -> list[dict[str, Any]]:
    cur = await conn.execute(
        f"SELECT {VARIANT_COLUMNS} FROM variants v JOIN products p USING (merchant_id, product_id)"
        " WHERE v.merchant_id = %s AND v.product_id = %s ORDER BY v.sku",
        (merchant_id, product_id),
    )
    return [dict(r) for r in await cur.fetchall()]


async def product_id_for_sku(conn: Conn, merchant_id: str, sku: str) -> Any:
    cur = await conn.execute("SELECT product_id FROM variants WHERE merchant_id = %s AND sku = %s", (merchant_id, sku))
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no product with SKU {sku!r} in this shop")
    return row["product_id"]


async def record_change(
    conn: Conn, merchant_id: str, sku: str, kind: str, old: str, new: str, user_id: str, command_id: str
) -> str:
    cur = await conn.execute(
        "INSERT INTO changes (merchant_id, sku, kind, old_value, new_value, user_id, command_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING change_id",
        (merchant_id, sku, kind, old, new, user_id, command_id),
    )
    row = await cur.fetchone()
    assert row is not None
    return str(row["change_id"])


async def update_price(conn: Conn, merchant_id: str, sku: str, price: Decimal) -> None:
    await conn.execute(
        "UPDATE variants SET price = %s, version = version + 1, updated_at = now() WHERE merchant_id = %s AND sku = %s",
        (price, merchant_id, sku),
    )
