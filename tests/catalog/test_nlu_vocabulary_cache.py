"""The NLU's cache of a shop's vocabulary against the real catalog: a catalog change that
arrives while a fetch is under way is not lost (the fetch may hold the words from before)."""

from __future__ import annotations

import asyncio

import grpc

from services.nlu.grammar import Vocabulary
from services.nlu.vocabulary_cache import VocabularyCache
from shopvoice.catalog.v1 import catalog_pb2_grpc
from tests.catalog.shop import create
from tests.support.processes import ServiceProcess


def test_an_invalidation_during_a_fetch_is_not_cached_over(
    catalog_process: ServiceProcess, stub: catalog_pb2_grpc.CatalogServiceStub, merchant: str
) -> None:
    create(stub, merchant, sku="A100")

    async def go() -> tuple[Vocabulary | None, Vocabulary | None]:
        async with grpc.aio.insecure_channel(catalog_process.address) as channel:
            cache = VocabularyCache(channel, ttl_s=60, timeout_s=5)
            fetching = asyncio.create_task(cache.get(merchant))
            await asyncio.sleep(0)  # the fetch is under way
            cache.invalidate(merchant)  # a ProductChanged event read meanwhile
            during = await fetching
            create(stub, merchant, sku="H1", title="红色帽子")
            return during, await cache.get(merchant)

    during, after = asyncio.run(go())
    assert during is not None and during.skus == {"A100"}
    # Fetched again, not the answer of the fetch the invalidation overtook, cached for NLU_VOCAB_TTL_S.
    assert after is not None and after.skus == {"A100", "H1"}
