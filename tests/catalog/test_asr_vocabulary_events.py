"""The ASR's vocabulary against the real catalog and its event stream: a new product is fetched once
the catalog has been quiet for a moment, not at the next poll, and a burst of products is one fetch,
not one each; a catalog that keeps changing is fetched every max_delay_s (services/asr/vocabulary.py
refresh_forever with products_changed)."""

from __future__ import annotations

import asyncio
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

    async def go() -> tuple[float, float, float]:
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
                settle_s=0.5,
                max_delay_s=2.5,
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
            for i in range(6):  # one after another, no pause of 0.5 s between them
                await asyncio.to_thread(create, stub, merchant, f"QB{i + 1}", f"bulk item {i + 1}")
            while not any("QB6" in v.skus for _, v in seen):
                assert time.monotonic() - burst < 10, "the burst was not fetched in 10 s"
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # any fetch still to come for the burst
            steady = time.monotonic()
            for i in range(12):  # a product every 0.3 s for 3.6 s: never quiet for 0.5 s
                await asyncio.to_thread(create, stub, merchant, f"QS{i + 1}", f"steady item {i + 1}")
                await asyncio.sleep(0.3)
            while not any("QS12" in v.skus for _, v in seen):
                assert time.monotonic() - steady < 10, "the steady import was not fetched in 10 s"
                await asyncio.sleep(0.05)
            return fetched, burst, steady
        finally:
            refresh.cancel()
            follower.cancel()
            await redis.aclose()

    fetched, burst, steady = asyncio.run(go())
    assert fetched < 3.0  # its event, then 0.5 s of quiet
    assert seen[0][1].skus == ("A100",)
    during_burst = [t for t, _ in seen if burst <= t < steady]
    assert len(during_burst) == 1, [sorted(v.skus) for _, v in seen]  # six products, six events: one fetch
    # never quiet: fetched every max_delay_s (2.5 s) while it goes on, not after each product nor only at the end
    during_steady = [t for t, v in seen if t >= steady and "QS12" not in v.skus]
    assert 1 <= len(during_steady) <= 2, [sorted(v.skus) for _, v in seen]
