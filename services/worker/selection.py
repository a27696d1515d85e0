"""Which SKUs a bulk command covers, read page by page from the catalog's API.

SearchProducts answers at most 100 matches (it serves the NLU's "which product did
they mean"), so a bulk selection pages ListProducts instead and matches titles here,
folded the same way the catalog folds them for search (NFKC, then casefold), so
"t恤", "T恤" and "Ｔ恤" select the same products. Archived products are left out,
as search leaves them out.
"""

from __future__ import annotations

import unicodedata

from shopvoice import tracing
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.command_pb2 import ProductStatus

PAGE_SIZE = 250  # the catalog's largest page


def fold(text: str) -> str:
    """Width- and case-insensitive form of a title or a selector (as the catalog's search)."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def matches(selector: str, product: catalog_pb2.Product, variant: catalog_pb2.Variant) -> bool:
    wanted = fold(selector)
    if wanted in ("", "*"):
        return True
    return wanted in fold(product.title) or wanted in fold(variant.option_title)


async def select_skus(
    stub: catalog_pb2_grpc.CatalogServiceAsyncStub, merchant_id: str, selector: str, timeout_s: float
) -> list[str]:
    """Every SKU of the shop's non-archived products whose title contains the selector, sorted."""
    skus: set[str] = set()
    token = ""
    while True:
        page = await stub.ListProducts(
            catalog_pb2.ListProductsRequest(merchant_id=merchant_id, page_size=PAGE_SIZE, page_token=token),
            timeout=timeout_s,
            metadata=tuple(tracing.current_metadata()),
        )
        for product in page.products:
            if product.status == ProductStatus.PRODUCT_STATUS_ARCHIVED:
                continue
            skus.update(v.sku for v in product.variants if matches(selector, product, v))
        token = page.next_page_token
        if not token:
            return sorted(skus)
