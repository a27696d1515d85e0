"""Products: creating one with its SKUs, and moving it between active, draft and archived."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from services.catalog import history, store
from services.catalog.events import CatalogEvents
from services.catalog.messages import STATUS_TO_DB, Row
from services.catalog.search import fold
from services.catalog.validation import (
    MAX_OPTION_TITLE_CHARS,
    check_amount,
    money_value,
    validate_description,
    validate_quantity,
    validate_title,
)
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.common.v1.command_pb2 import ProductStatus
from shopvoice.db import Conn
from shopvoice.errors import AlreadyExists, InvalidArgument
from shopvoice.identifiers import validate_sku
from shopvoice.money import check_currency, format_amount

MAX_VARIANTS = 100  # Shopify's classic limit per product


@dataclass(frozen=True)
class NewSku:
    sku: str  # empty: generated
    option_title: str
    price: Decimal
    compare_at_price: Decimal | None
    quantity: int


def status_name(status: ProductStatus.ValueType) -> str:
    if status not in STATUS_TO_DB:
        raise InvalidArgument("status must be active, draft or archived")
    return STATUS_TO_DB[status]


def shop_currency(request: pb.CreateProductRequest, known: str | None, default: str) -> str:
    """The shop's currency: fixed by its first product (or the configured default)."""
    if known:
        return known
    asked = {m.currency_code for m in [request.price, *(v.price for v in request.variants)] if m.currency_code}
    if len(asked) > 1:
        raise InvalidArgument(f"one product cannot mix currencies ({', '.join(sorted(asked))})")
    return check_currency(asked.pop()) if asked else default


def new_skus(request: pb.CreateProductRequest, currency: str, ceiling: Decimal) -> list[NewSku]:
    inputs = list(request.variants)
    if not inputs:
        single = pb.NewVariant(sku=request.sku, quantity=request.quantity)
        for name in ("price", "compare_at_price"):
            if request.HasField(name):
                getattr(single, name).CopyFrom(getattr(request, name))
        inputs = [single]
    if len(inputs) > MAX_VARIANTS:
        raise InvalidArgument(f"a product has at most {MAX_VARIANTS} SKUs; this one has {len(inputs)}")
    if request.variants and (request.sku or request.HasField("price") or request.quantity):
        raise InvalidArgument("give either sku/price/quantity or variants, not both")
    skus: list[NewSku] = []
    for i, item in enumerate(inputs):
        what = f"variant {i + 1}" if request.variants else "product"
        if not item.HasField("price"):
            raise InvalidArgument(f"{what} has no price; every SKU needs one")
        compare_at = (
            check_amount(
                money_value(item.compare_at_price, currency, "compare-at price"), currency, ceiling, "compare-at price"
            )
            if item.HasField("compare_at_price")
            else None
        )
        skus.append(
            NewSku(
                sku=validate_sku(item.sku) if item.sku else "",
                option_title=validate_title(item.option_title, "option title", MAX_OPTION_TITLE_CHARS, required=False),
                price=check_amount(money_value(item.price, currency, "price"), currency, ceiling),
                compare_at_price=compare_at,
                quantity=validate_quantity(item.quantity),
            )
        )
    named = [s.sku for s in skus if s.sku]
    if len(set(named)) != len(named):
        raise InvalidArgument("the same SKU appears twice in this product")
    return skus


async def create(
    conn: Conn,
    events: CatalogEvents,
    merchant_id: str,
    request: pb.CreateProductRequest,
    default_currency: str,
    ceiling: Decimal,
) -> tuple[list[Row], str]:
    """Insert a product and its SKUs; returns its rows and a summary."""
    title = validate_title(request.title)
    title_en = validate_title(request.title_en, "English title", required=False)
    description = validate_description(request.description)
    status = status_name(request.status) if request.status else "active"  # an unknown value is refused
    currency = shop_currency(request, await store.merchant_currency(conn, merchant_id), default_currency)
    skus = new_skus(request, currency, ceiling)
    product_id = uuid.uuid4()
    final = [
        s.sku or f"P{product_id.hex[:8].upper()}{'' if len(skus) == 1 else f'-{i + 1}'}" for i, s in enumerate(skus)
    ]
    taken = await store.sku_exists(conn, merchant_id, final)
    if taken:
        raise AlreadyExists(f"SKU {', '.join(taken)} already exists in this shop; choose another SKU")
    await store.ensure_merchant(conn, merchant_id, currency)
    await conn.execute(
        "INSERT INTO products (merchant_id, product_id, title, title_en, description, status, search_key)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (merchant_id, product_id, title, title_en, description, status, fold(title)),
    )
    for sku, item in zip(final, skus, strict=True):
        await conn.execute(
            "INSERT INTO variants (merchant_id, sku, product_id, option_title, price, compare_at_price,"
            " currency_code, on_hand) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                merchant_id,
                sku,
                product_id,
                item.option_title,
                item.price,
                item.compare_at_price,
                currency,
                item.quantity,
            ),
        )
    rows = await store.product_rows(conn, merchant_id, product_id)
    await events.product_changed(conn, merchant_id, rows)
    prices = ", ".join(f"{s} {format_amount(i.price, currency)}" for s, i in zip(final, skus, strict=True))
    return rows, f"created {title} ({prices} {currency})"


async def lock_product_of_sku(conn: Conn, merchant_id: str, sku: str) -> Row:
    cur = await conn.execute(
        "SELECT p.product_id, p.status, p.version, p.title FROM products p JOIN variants v USING (merchant_id,"
        " product_id) WHERE v.merchant_id = %s AND v.sku = %s FOR UPDATE OF p",
        (merchant_id, sku),
    )
    row = await cur.fetchone()
    if row is None:
        raise store.no_such_sku(sku)
    return dict(row)


async def change_status(
    conn: Conn,
    events: CatalogEvents,
    merchant_id: str,
    sku: str,
    product: Row,
    status: str,
    author: history.Author,
    undo_of: str | None = None,
) -> tuple[list[Row], str, str]:
    """Set a locked product's status (all its SKUs), with history and event."""
    if product["status"] == status:
        # Nothing to change, nothing to record: "list A100" twice is not an error.
        rows = await store.product_rows(conn, merchant_id, product["product_id"])
        return rows, "", f"{product['title']} ({sku}) is already {status}"
    await conn.execute(
        "UPDATE products SET status = %s, version = version + 1, updated_at = now()"
        " WHERE merchant_id = %s AND product_id = %s",
        (status, merchant_id, product["product_id"]),
    )
    change_id = await history.record(
        conn, merchant_id, sku, "status", product["status"], status, author, product["version"] + 1, undo_of
    )
    rows = await store.product_rows(conn, merchant_id, product["product_id"])
    await events.product_changed(conn, merchant_id, rows)
    return rows, change_id, f"{product['title']} ({sku}) {product['status']} → {status}"
