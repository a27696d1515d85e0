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
from typing import Any

import grpc
import redis.asyncio as aioredis

from shopvoice import log
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.command_pb2 import ProductStatus
from shopvoice.events.v1.events_pb2 import Event
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
        """Drop a merchant's entry whenever its catalog changes, for every event after the id
        `after` (from stream_end, taken before any vocabulary is fetched; runs until cancelled).

        Supervised: an error (Redis away, an entry that does not decode) is logged and the
        follower resumes from the last id it handled, so no event is skipped and a new product
        is nameable as soon as its event is read, never only when the TTL runs out.
        """
        last_id = after
        failures = 0
        while True:
            try:
                response: Any = await redis.xread({stream: last_id}, count=100, block=1000)
                failures = 0
            except Exception as exc:  # supervised: log, back off, resume
                failures += 1
                log.get().warning(
                    "vocabulary follower: read failed, resuming", error=repr(exc)[:200], last_id=str(last_id)
                )
                await asyncio.sleep(min(retry_s * failures, 5.0))
                continue
            for _stream, entries in response or []:
                for entry_id, fields in entries:
                    last_id = entry_id
                    try:
                        event = Event.FromString(fields[b"event"])
                    except Exception as exc:  # one bad entry must not stop the follower
                        log.get().warning(
                            "vocabulary follower: entry skipped", entry_id=str(entry_id), error=repr(exc)[:200]
                        )
                        continue
                    # Only products coming, going or being renamed change SKUs and titles; a
                    # price change does not, and dropping the cache on each one made a busy
                    # shop (hundreds of price changes a second) re-fetch and re-index its
                    # whole vocabulary for nearly every command.
                    if event.WhichOneof("payload") == "product_changed":
                        self.invalidate(event.merchant_id)


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


async def stream_end(redis: aioredis.Redis, stream: str) -> str:
    """The id of the stream's last entry ("0-0" for none): where a follower starts.

    Not XREAD's "$": that means the end of the stream at each call, so an event added between
    a read that timed out empty and the next one was never seen, and the merchant's new product
    stayed unknown to the NLU until NLU_VOCAB_TTL_S ran out. An explicit id, taken before the
    first fetch, also covers an event written while the follower task was still starting.
    """
    last: Any = await redis.xrevrange(stream, count=1)  # [(id, fields)]: bytes, the client does not decode
    return last[0][0].decode() if last else "0-0"
