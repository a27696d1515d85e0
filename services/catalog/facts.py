"""Product facts: SetProductFact and GetProductFacts.

A fact is one value per product, name and language (the table of 0007). Setting a value
replaces it, an empty value removes it; every set is idempotent by its mutation's key
(`idempotency.run_once`: a replay returns the first result). Facts are the merchant's own
words: the catalog checks the name, the language and the text, never the meaning.
"""

from __future__ import annotations

from typing import Any

from services.catalog import store
from services.catalog.validation import validate_title
from shopvoice import idempotency
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.db import Conn, Pool
from shopvoice.errors import InvalidArgument
from shopvoice.identifiers import require_merchant, validate_sku
from shopvoice.product_facts import FACT_NAMES, LANGUAGES, MAX_VALUE_CHARS


def validate_name(name: str) -> str:
    name = name.strip().lower()
    if name not in FACT_NAMES:
        raise InvalidArgument(f"{name[:40]!r} is not a fact name; use one of: {', '.join(FACT_NAMES)}")
    return name


def validate_language(language: str, required: bool = True) -> str:
    if language in LANGUAGES or (not language and not required):
        return language
    raise InvalidArgument("language must be 'zh' or 'en'")


def _proto(merchant_id: str, product_id: Any, sku: str, rows: list[dict[str, Any]]) -> pb.ProductFacts:
    reply = pb.ProductFacts(merchant_id=merchant_id, product_id=str(product_id), sku=sku)
    for row in rows:
        fact = reply.facts.add(name=row["name"], language=row["language"], value=row["value"])
        fact.updated_at.FromDatetime(row["updated_at"])
    return reply


async def _rows(conn: Conn, merchant_id: str, product_id: Any, language: str) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT name, language, value, updated_at FROM product_facts"
        " WHERE merchant_id = %s AND product_id = %s AND (%s = '' OR language = %s) ORDER BY name, language",
        (merchant_id, product_id, language, language),
    )
    return [dict(r) for r in await cur.fetchall()]


class ProductFactsService:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def set(self, request: pb.SetProductFactRequest) -> pb.ProductFacts:
        require_merchant(request.mutation.merchant_id)  # what is wrong with the merchant is said first
        sku = validate_sku(request.sku)
        name = validate_name(request.name)
        language = validate_language(request.language)
        value = validate_title(request.value, what="value", limit=MAX_VALUE_CHARS, required=False)
        user_id = request.mutation.actor.user_id

        async def apply(conn: Conn, merchant_id: str) -> pb.ProductFacts:
            product_id = await store.product_id_for_sku(conn, merchant_id, sku)
            if value:
                await conn.execute(
                    "INSERT INTO product_facts (merchant_id, product_id, name, language, value, updated_by)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (merchant_id, product_id, name, language)"
                    " DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()",
                    (merchant_id, product_id, name, language, value, user_id),
                )
            else:
                await conn.execute(
                    "DELETE FROM product_facts WHERE merchant_id = %s AND product_id = %s AND name = %s"
                    " AND language = %s",
                    (merchant_id, product_id, name, language),
                )
            return _proto(merchant_id, product_id, sku, await _rows(conn, merchant_id, product_id, ""))

        return await idempotency.run_once(
            self.pool, "SetProductFact", request, request.mutation, pb.ProductFacts, apply
        )

    async def get(self, request: pb.GetProductFactsRequest) -> pb.ProductFacts:
        merchant_id = require_merchant(request.merchant_id)
        sku = validate_sku(request.sku)
        language = validate_language(request.language, required=False)
        async with self.pool.connection() as conn:
            product_id = await store.product_id_for_sku(conn, merchant_id, sku)
            return _proto(merchant_id, product_id, sku, await _rows(conn, merchant_id, product_id, language))
