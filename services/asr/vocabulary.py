"""The merchant's catalog words the recogniser must know: SKUs and product titles.

They come from the catalog's GetVocabulary RPC when CATALOG_ADDR is set and are
refreshed periodically; otherwise (and until the catalog first answers) the demo
shop's vocabulary is used, so the service works on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from shopvoice import grpc_server, log
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc


@dataclass(frozen=True)
class Vocabulary:
    """(SKU, title) pairs ("A100", "red t-shirt"), with the catalog's revision to skip needless rebuilds."""

    products: tuple[tuple[str, str], ...]
    revision: int = 0

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(sorted({sku for sku, _ in self.products if sku}))

    @property
    def titles(self) -> tuple[str, ...]:
        return tuple(sorted({title for _, title in self.products if title}))


DEMO_VOCABULARY = Vocabulary(
    products=(
        ("A100", "red t-shirt"),
        ("B200", "blue jeans"),
        ("C7", "coffee mug"),
        ("D42", "phone case"),
        ("E15", "water bottle"),
    )
)


async def fetch(catalog_addr: str, merchant_id: str, timeout_s: float) -> Vocabulary:
    """One GetVocabulary call, with a deadline."""
    async with grpc_server.channel(catalog_addr) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        reply = await stub.GetVocabulary(catalog_pb2.GetVocabularyRequest(merchant_id=merchant_id), timeout=timeout_s)
    products = tuple((e.sku.strip().upper(), e.title.strip().lower()) for e in reply.entries if e.sku.strip())
    return Vocabulary(products=products, revision=reply.revision)


async def refresh_forever(
    catalog_addr: str,
    merchant_id: str,
    interval_s: float,
    timeout_s: float,
    on_change: Callable[[Vocabulary], None],
) -> None:
    """Poll the catalog; call on_change when the revision moves. Failures keep the last vocabulary."""
    logger = log.get().bind(component="vocabulary")
    revision: int | None = None
    while True:
        try:
            vocabulary = await fetch(catalog_addr, merchant_id, timeout_s)
            if vocabulary.revision != revision or revision is None:
                revision = vocabulary.revision
                on_change(vocabulary)
                logger.info("vocabulary loaded", skus=len(vocabulary.skus), revision=revision)
        except grpc.aio.AioRpcError as exc:
            logger.warning("catalog vocabulary unavailable; keeping the last one", code=exc.code().name)
        await asyncio.sleep(interval_s)
