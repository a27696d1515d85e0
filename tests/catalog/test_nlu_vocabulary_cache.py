"""The NLU's cache of a shop's vocabulary against the real catalog and its event stream: a catalog
change that arrives while a fetch is under way is not lost (the fetch may hold the words from
before), nor one written before the follower's first read."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import redis.asyncio as aioredis

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.catalog_events import stream_end
from shopvoice.events.v1.events_pb2 import Event
from shopvoice.grammar import Vocabulary
from shopvoice.vocabulary_cache import VocabularyCache
from tests.catalog.shop import create, money, mutation
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


def test_a_change_written_before_the_followers_first_read_is_followed(
    catalog_process: ServiceProcess,
    stub: catalog_pb2_grpc.CatalogServiceStub,
    merchant: str,
    redis_url: str,
    module_streams: str,
) -> None:
    create(stub, merchant, sku="A100")
    events = f"{module_streams}:events:catalog"

    async def go() -> tuple[Vocabulary | None, Vocabulary | None]:
        redis = aioredis.from_url(redis_url)
        async with grpc.aio.insecure_channel(catalog_process.address) as channel:
            cache = VocabularyCache(channel, ttl_s=600, timeout_s=5)
            after = await stream_end(redis, events)  # as the NLU does before it serves
            before = await cache.get(merchant)  # cached for ten minutes
            create(stub, merchant, sku="H1", title="红色帽子")
            for _ in range(200):  # until the catalog's outbox relay has written H1's event
                entries: Any = await redis.xrange(events, min=after)
                written = [Event.FromString(fields[b"event"]) for _, fields in entries]
                if any(e.merchant_id == merchant and "H1" in e.product_changed.skus for e in written):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"the catalog wrote no event for H1 to {events} in 10 s")
            follower = asyncio.create_task(cache.follow(redis, events, after))  # the task starts only now
            try:
                for _ in range(100):
                    now = await cache.get(merchant)
                    if now is not None and "H1" in now.skus:
                        break
                    await asyncio.sleep(0.05)
                return before, now
            finally:
                follower.cancel()
                await redis.aclose()

    before, now = asyncio.run(go())
    assert before is not None and before.skus == {"A100"}
    # XREAD from "$" would start after the event: the cache would have kept A100 alone for ten minutes
    assert now is not None and now.skus == {"A100", "H1"}


def test_the_follower_survives_a_bad_entry_and_a_new_product_is_nameable_within_a_second(
    catalog_process: ServiceProcess,
    stub: catalog_pb2_grpc.CatalogServiceStub,
    merchant: str,
    redis_url: str,
    module_streams: str,
) -> None:
    create(stub, merchant, sku="A100")
    events = f"{module_streams}:events:catalog"

    async def go() -> tuple[float, str | None]:
        redis = aioredis.from_url(redis_url)
        async with grpc.aio.insecure_channel(catalog_process.address) as channel:
            cache = VocabularyCache(channel, ttl_s=600, timeout_s=5)
            follower = asyncio.create_task(cache.follow(redis, events, await stream_end(redis, events)))
            try:
                assert (await cache.get(merchant)) is not None  # cached for ten minutes
                await redis.xadd(events, {"event": b"\xff not an event"})  # skipped, logged
                await redis.xadd(events, {"other": b"no event field"})  # skipped, logged
                started = asyncio.get_running_loop().time()
                created = stub.CreateProduct(
                    pb.CreateProductRequest(
                        mutation=mutation(merchant),
                        title="户外防晒帽",
                        title_en="Outdoor sun hats",
                        price=money("39.00"),
                    ),
                    timeout=5,
                )
                generated = created.sku
                while asyncio.get_running_loop().time() - started < 5:
                    vocabulary = await cache.get(merchant)
                    if vocabulary is not None and vocabulary.match("the sun hat").sku == generated:
                        return asyncio.get_running_loop().time() - started, generated
                    await asyncio.sleep(0.02)
                return 99.0, None
            finally:
                assert not follower.done(), "the follower stopped"
                follower.cancel()
                await redis.aclose()

    elapsed, sku = asyncio.run(go())
    assert sku is not None and sku.startswith("P")
    assert elapsed < 1.0, f"named {elapsed:.2f} s after its creation"
