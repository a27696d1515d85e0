"""Each merchant's catalog vocabulary (SKUs and titles), cached (the NLU's and the support service's).

Fetched from the catalog's GetVocabulary RPC, kept for a TTL (NLU_VOCAB_TTL_S,
SUPPORT_VOCAB_TTL_S), and
dropped as soon as a ProductChanged event for that merchant arrives on the
catalog's event stream, so a new or renamed product is understood at once.
Every replica that follows the stream tails it itself (XREAD, no consumer group): each
needs every event.
"""

from __future__ import annotations

import asyncio
import time

import grpc
import redis.asyncio as aioredis

from shopvoice import log
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.catalog_events import follow_product_changes
from shopvoice.common.v1.command_pb2 import ProductStatus
from shopvoice.grammar import Vocabulary
from shopvoice.resolution import CatalogProduct


class VocabularyCache:
    def __init__(self, catalog: grpc.aio.Channel, ttl_s: float, timeout_s: float) -> None:
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(catalog)
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self._entries: dict[str, tuple[float, Vocabulary]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Bumped by each invalidation: a fetch that was under way when the catalog changed
        # may hold the vocabulary from before, and must not be cached over the invalidation.
        self._generations: dict[str, int] = {}

    async def get(self, merchant_id: str) -> Vocabulary | None:
        """The merchant's vocabulary; a stale one when the catalog cannot answer; None if never fetched."""
        entry = self._entries.get(merchant_id)
        if entry and time.monotonic() - entry[0] < self.ttl_s:
            return entry[1]
        async with self._locks.setdefault(merchant_id, asyncio.Lock()):
            entry = self._entries.get(merchant_id)
            if entry and time.monotonic() - entry[0] < self.ttl_s:
                return entry[1]
            generation = self._generations.get(merchant_id, 0)
            try:
                reply = await self.catalog.GetVocabulary(
                    catalog_pb2.GetVocabularyRequest(merchant_id=merchant_id), timeout=self.timeout_s
                )
            except grpc.aio.AioRpcError as exc:
                log.get().warning("vocabulary unavailable", merchant_id=merchant_id, code=exc.code().name)
                return entry[1] if entry else None
            vocabulary = vocabulary_of(reply)
            if self._generations.get(merchant_id, 0) == generation:
                self._entries[merchant_id] = (time.monotonic(), vocabulary)
            return vocabulary

    def invalidate(self, merchant_id: str) -> None:
        self._entries.pop(merchant_id, None)
        self._generations[merchant_id] = self._generations.get(merchant_id, 0) + 1

    async def follow(self, redis: aioredis.Redis, stream: str, after: str, retry_s: float = 0.2) -> None:
        """Drop a merchant's entry whenever its products change, for every event after the id
        `after` (from stream_end, taken before any vocabulary is fetched; runs until cancelled), so
        a new product is nameable as soon as its event is read, never only when the TTL runs out."""
        await follow_product_changes(redis, stream, after, self.invalidate, retry_s)


def vocabulary_of(reply: catalog_pb2.Vocabulary) -> Vocabulary:
    """The grammar's vocabulary (products on sale) with resolution's details (English titles,
    descriptions, and archived products, which can still be named to relist them)."""
    archived = ProductStatus.PRODUCT_STATUS_ARCHIVED
    details = [
        CatalogProduct(
            sku=e.sku,
            title=e.title,
            title_en=e.title_en,
            words=(e.description,) if e.description else (),
            status="archived" if e.status == archived else "active",
        )
        for e in reply.entries
    ]
    return Vocabulary(((e.sku, e.title) for e in reply.entries if e.status != archived), details)
