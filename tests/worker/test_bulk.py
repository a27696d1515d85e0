"""Bulk price changes run by real Celery workers: every SKU's price changes exactly
once, also when the worker is SIGKILLed halfway and another one finishes the job."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pytest
import redis

from services.worker.client import BulkPriceChange, WorkerClient
from shopvoice.gateway.v1.gateway_pb2 import ResultStatus, ServerMessage
from tests.support.processes import ServiceProcess
from tests.worker import shop
from tests.worker.workers import CeleryWorker

TSHIRTS = 5000
MUGS = 20

pytestmark = pytest.mark.e2e


class Replies:
    """The session's reply stream, as the gateway reads it."""

    def __init__(self, redis_url: str, stream: str) -> None:
        self.redis = redis.Redis.from_url(redis_url)
        self.stream = stream
        self.last = "0-0"
        self.seen: list[ServerMessage] = []

    def next(self, timeout: float) -> ServerMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.redis.xread({self.stream: self.last}, count=1, block=200)
            for _stream, entries in response or []:
                for entry_id, fields in entries:
                    self.last = entry_id
                    message = ServerMessage.FromString(fields[b"msg"])
                    self.seen.append(message)
                    return message
        raise TimeoutError(f"no reply on {self.stream} within {timeout}s; seen {len(self.seen)}")

    def until_result(self, timeout: float) -> ServerMessage:
        deadline = time.monotonic() + timeout
        while True:
            message = self.next(max(0.1, deadline - time.monotonic()))
            if message.WhichOneof("kind") == "result":
                return message

    def results(self) -> list[ServerMessage]:
        return [m for m in self.seen if m.WhichOneof("kind") == "result"]


def seed(catalog: ServiceProcess, merchant: str) -> dict[str, Decimal]:
    started = time.monotonic()
    prices = shop.create_skus(catalog.address, merchant, "纯棉T恤", "TS", TSHIRTS)
    shop.create_skus(catalog.address, merchant, "马克杯", "MUG", MUGS)
    print(f"seeded {TSHIRTS + MUGS} SKUs in {time.monotonic() - started:.1f}s")
    return prices


def assert_exactly_once(database_url: str, merchant: str, job_id: str, before: dict[str, Decimal]) -> None:
    counts = shop.price_changes_by_sku(database_url, merchant, f"bulk:{job_id}")
    assert len(counts) == TSHIRTS, f"{TSHIRTS - len(counts)} T-shirt SKUs were not changed"
    twice = {sku: n for sku, n in counts.items() if n != 1}
    assert not twice, f"changed more than once: {list(twice.items())[:5]}"
    now = shop.prices_now(database_url, merchant)
    wrong = {sku: (old, now[sku]) for sku, old in before.items() if now[sku] != shop.expected_after(old, "10")}
    assert not wrong, f"{len(wrong)} prices are not old×1.1: {list(wrong.items())[:5]}"
    mugs = {sku: p for sku, p in now.items() if sku.startswith("MUG")}
    assert mugs == {f"MUG{i:05d}": shop.price_of(i) for i in range(MUGS)}, "the selector let other products through"


def submit(client: WorkerClient, merchant: str, stream: str) -> str:
    return client.submit_bulk_price_change(
        BulkPriceChange(
            merchant_id=merchant,
            selector="t恤",
            percent="10",
            user_id="u1",
            role="owner",
            reply_stream=stream,
            confirmed_by="u1",  # 5000 products: over the guardrail's bulk threshold
        )
    )


def test_bulk_change_of_5000_skus_changes_each_exactly_once(
    catalog: ServiceProcess,
    catalog_database: str,
    redis_url: str,
    prefix: str,
    client: WorkerClient,
    start_worker: Callable[..., CeleryWorker],
    merchant: str,
) -> None:
    before = seed(catalog, merchant)
    stream = f"{prefix}:replies:s1"
    replies = Replies(redis_url, stream)
    start_worker("w1")
    started = time.monotonic()
    job_id = submit(client, merchant, stream)

    result = replies.until_result(120)
    print(f"bulk change of {TSHIRTS} SKUs in {time.monotonic() - started:.1f}s")

    assert result.utterance_id == job_id
    assert result.result.status == ResultStatus.RESULT_STATUS_OK
    assert f"{TSHIRTS} changed, 0 skipped, 0 failed" in result.result.message
    progress = [m.progress for m in replies.seen if m.WhichOneof("kind") == "progress"]
    assert progress[0].done == 0 and progress[0].total == TSHIRTS
    assert [p.done for p in progress] == sorted(p.done for p in progress), "progress went backwards"
    assert progress[-1].done == TSHIRTS
    assert_exactly_once(catalog_database, merchant, job_id, before)
    status = client.job_status(job_id)
    assert status["summary"]["changed"] == TSHIRTS and status["done"] == TSHIRTS

    # Submitting the same job again (a redelivered confirm) changes nothing more.
    again = client.submit_bulk_price_change(
        BulkPriceChange(merchant_id=merchant, selector="t恤", percent="10", user_id="u1", role="owner", job_id=job_id)
    )
    assert again == job_id
    time.sleep(2)
    assert_exactly_once(catalog_database, merchant, job_id, before)


def test_worker_killed_halfway_then_restarted_still_changes_each_exactly_once(
    catalog: ServiceProcess,
    catalog_database: str,
    redis_url: str,
    prefix: str,
    client: WorkerClient,
    start_worker: Callable[..., CeleryWorker],
    merchant: str,
) -> None:
    before = seed(catalog, merchant)
    stream = f"{prefix}:replies:s2"
    replies = Replies(redis_url, stream)
    first = start_worker("w1")
    job_id = submit(client, merchant, stream)

    while True:
        message = replies.next(60)
        if message.WhichOneof("kind") == "progress" and message.progress.done >= TSHIRTS // 2:
            break
    first.kill()
    done_at_kill = client.job_status(job_id)["done"]
    assert done_at_kill < TSHIRTS, "the job finished before the kill; nothing was interrupted"
    print(f"killed at {done_at_kill}/{TSHIRTS}")

    restarted = time.monotonic()
    start_worker("w2")
    result = replies.until_result(120)
    print(f"finished {time.monotonic() - restarted:.1f}s after the restart")

    assert f"{TSHIRTS} changed, 0 skipped, 0 failed" in result.result.message, result.result.message
    assert len(replies.results()) == 1
    assert_exactly_once(catalog_database, merchant, job_id, before)
