"""Rows to protobuf messages: the only place that knows both shapes."""

from __future__ import annotations

from typing import Any

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.common.v1.command_pb2 import ProductStatus
from shopvoice.money import from_decimal, quantize

STATUS_TO_DB = {
    ProductStatus.PRODUCT_STATUS_ACTIVE: "active",
    ProductStatus.PRODUCT_STATUS_DRAFT: "draft",
    ProductStatus.PRODUCT_STATUS_ARCHIVED: "archived",
}
STATUS_FROM_DB = {v: k for k, v in STATUS_TO_DB.items()}

Row = dict[str, Any]


def to_variant(row: Row) -> pb.Variant:
    currency = row["currency_code"]
    variant = pb.Variant(
        sku=row["sku"],
        title=row["title"],
        option_title=row["option_title"],
        product_id=str(row["product_id"]),
        price=from_decimal(quantize(row["price"], currency), currency),
        inventory=pb.Inventory(
            on_hand=row["on_hand"], committed=row["committed"], available=row["on_hand"] - row["committed"]
        ),
        version=row["version"],
    )
    if row["compare_at_price"] is not None:
        variant.compare_at_price.CopyFrom(from_decimal(quantize(row["compare_at_price"], currency), currency))
    return variant


def to_product(merchant_id: str, rows: list[Row]) -> pb.Product:
    """One product from its variant rows (each row carries the product's columns)."""
    first = rows[0]
    product = pb.Product(
        merchant_id=merchant_id,
        product_id=str(first["product_id"]),
        title=first["title"],
        title_en=first.get("title_en", ""),
        description=first["description"],
        status=STATUS_FROM_DB[first["status"]],
        version=first["product_version"],
        variants=[to_variant(row) for row in sorted(rows, key=lambda r: r["sku"])],
    )
    product.created_at.FromDatetime(first["created_at"])
    product.updated_at.FromDatetime(first["updated_at"])
    return product


def to_products(merchant_id: str, rows: list[Row]) -> list[pb.Product]:
    """Group variant rows by product, keeping the order the products first appear in."""
    grouped: dict[Any, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row["product_id"], []).append(row)
    return [to_product(merchant_id, group) for group in grouped.values()]
