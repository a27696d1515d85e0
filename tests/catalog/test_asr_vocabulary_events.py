"""The ASR's vocabulary against the real catalog and its event stream: a new product is fetched as
soon as its event is read, not at the next poll, and a burst of products is one fetch, not one each
(services/asr/vocabulary.py refresh_forever with products_changed)."""

from __future__ import annotations

import asyncio
import itertools
import time

import redis.asyncio as aioredis

from services.asr import vocabulary
from services.asr.vocabulary import DEMO_VOCABULARY, Vocabulary
from shopvoice import catalog_events
from shopvoice.catalog.v1 import catalog_pb2_grpc
from tests.catalog.shop import create
from tests.support.processes import ServiceProcess


def test_a_new_product_is_fetched_when_its_event_comes_and_a_burst_is_fetched_once(
    catalog_process: ServiceProcess,
    stub: catalog_pb2_grpc.CatalogServiceStub,
    merchant: str,
    redis_url: str,
    module_streams: str,
) -> None:
    create(stub, merchant, sku="A100", title="red t-shirt")
    events = f"{module_streams}:events:catalog"
    seen: list[tuple[float, Vocabulary]] = []

    async def go() -> tuple[float, float]:
        redis = aioredis.from_url(redis_url)
        changed, first = asyncio.Event(), asyncio.Event()

        def loaded(v: Vocabulary) -> None:
            seen.append((time.monotonic(), v))
            first.set()

        def on_product_change(merchant_id: str) -> None:
            if merchant_id == merchant:
                changed.set()

        follower = asyncio.create_task(
            catalog_events.follow_product_changes(
                redis, events, await catalog_events.stream_end(redis, events), on_product_change
            )
        )
        refresh = asyncio.create_task(
            vocabulary.refresh_forever(
                catalog_process.address,
                "",
                merchant,
                600.0,  # the poll alone would take ten minutes
                5.0,
                1000,
                loaded,
                DEMO_VOCABULARY,
                products_changed=changed,
                min_interval_s=1.0,
            )
        )
        try:
            await asyncio.wait_for(first.wait(), 10)
            created = time.monotonic()
            await asyncio.to_thread(create, stub, merchant, "QZ7", "garden hose")
            while not any("QZ7" in v.skus for _, v in seen):
                assert time.monotonic() - created < 10, "QZ7 was not fetched in 10 s"
                await asyncio.sleep(0.05)
            fetched = time.monotonic() - created
            burst = time.monotonic()
            for i in range(6):
                await asyncio.to_thread(create, stub, merchant, f"QB{i + 1}", f"bulk item {i + 1}")
            while not any("QB6" in v.skus for _, v in seen):
                assert time.monotonic() - burst < 10, "the burst was not fetched in 10 s"
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # any fetch still to come for the burst
            return fetched, burst
        finally:
            refresh.cancel()
            follower.cancel()
            await redis.aclose()

    fetched, burst = asyncio.run(go())
    assert fetched < 3.0  # the event, then min_interval_s at most
    assert seen[0][1].skus == ("A100",)
    after_burst = [t for t, _ in seen if t >= burst]
    # six products, six events: at most one fetch per min_interval_s while they come, not six
    assert 1 <= len(after_burst) <= 3, [sorted(v.skus) for _, v in seen]
    gaps = [b - a for a, b in itertools.pairwise(after_burst)]
    assert all(gap >= 0.9 for gap in gaps), gaps
