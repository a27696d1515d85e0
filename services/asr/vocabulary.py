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
    """SKUs ("A100") and titles ("red t-shirt"), with the catalog's revision to skip needless rebuilds."""

    skus: tuple[str, ...]
    titles: tuple[str, ...] = ()
    revision: int = 0


DEMO_VOCABULARY = Vocabulary(
    skus=("A100", "B200", "C7", "D42", "E15"),
    titles=("red t-shirt", "blue jeans", "coffee mug", "phone case", "water bottle"),
)


async def fetch(catalog_addr: str, merchant_id: str, timeout_s: float) -> Vocabulary:
    """One GetVocabulary call, with a deadline."""
    async with grpc_server.channel(catalog_addr) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        reply = await stub.GetVocabulary(catalog_pb2.GetVocabularyRequest(merchant_id=merchant_id), timeout=timeout_s)
    skus = tuple(sorted({e.sku.upper() for e in reply.entries if e.sku}))
    titles = tuple(sorted({e.title.strip().lower() for e in reply.entries if e.title.strip()}))
    return Vocabulary(skus=skus, titles=titles, revision=reply.revision)


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
