"""The ASR's view of a shop's order numbers: GetOrderVocabulary polled by the ASR's vocabulary
refresh (services/asr/vocabulary.py) against a real orders server."""

from __future__ import annotations

import asyncio

from services.asr import vocabulary
from services.asr.vocabulary import DEMO_VOCABULARY, Vocabulary, order_bound
from shopvoice.orders.v1 import orders_pb2_grpc
from tests.orders.conftest import place
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess


def test_the_bound_runs_a_headroom_ahead_and_moves_in_steps() -> None:
    assert order_bound(0, 1000) == 2000
    assert order_bound(999, 1000) == 2000
    assert order_bound(1000, 1000) == 3000
    assert order_bound(99_999, 1000) == 101_000
    for last in range(0, 5000, 7):
        assert 1000 < order_bound(last, 1000) - last <= 2000


def test_refresh_follows_the_shops_orders_and_rebuilds_nothing_when_they_are_unreachable(
    orders_process: ServiceProcess, stub: orders_pb2_grpc.OrdersServiceStub, merchant: str
) -> None:
    seen: list[Vocabulary] = []

    async def watch(orders_addr: str, placing: int, seconds: float) -> None:
        task = asyncio.create_task(
            vocabulary.refresh_forever("", orders_addr, merchant, 0.05, 2.0, 2, seen.append, DEMO_VOCABULARY)
        )
        try:
            for _ in range(placing):
                await asyncio.sleep(0.2)
                await asyncio.to_thread(place, stub, merchant)
            await asyncio.sleep(seconds)
        finally:
            task.cancel()

    asyncio.run(watch(orders_process.address, placing=3, seconds=0.5))
    # headroom 2: 0 orders -> 4, 1 -> 4, 2 -> 6, 3 -> 6: one call per bound, in order
    assert [v.order_id_max for v in seen] == [4, 6]
    assert all(v.products == DEMO_VOCABULARY.products for v in seen)  # no catalog address: demo products

    seen.clear()
    asyncio.run(watch(f"127.0.0.1:{free_port()}", placing=0, seconds=0.3))  # nothing listens there
    assert seen == []  # unreachable: the engine keeps what it has, nothing is rebuilt
