"""The worker's atomic publishing scripts, against real Redis."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from services.worker.once import publish_if_advanced, publish_once


def test_publish_once_publishes_a_flagged_entry_only_once(redis_url: str, prefix: str) -> None:
    async def run() -> tuple[list[bool], int]:
        redis = aioredis.Redis.from_url(redis_url)
        try:
            stream = f"{prefix}:once"
            sent = [await publish_once(redis, f"{prefix}:flag", stream, {"msg": b"x"}, flag_ttl_s=60) for _ in range(3)]
            return sent, await redis.xlen(stream)
        finally:
            await redis.aclose()

    assert asyncio.run(run()) == ([True, False, False], 1)


def test_progress_never_goes_backwards_even_when_published_out_of_order(redis_url: str, prefix: str) -> None:
    async def run() -> tuple[list[bool], list[bytes]]:
        redis = aioredis.Redis.from_url(redis_url)
        try:
            stream, counter = f"{prefix}:progress", (f"{prefix}:job:meta", "progress-published")
            # A slower batch's count (196) arrives after a faster one's (200): dropped.
            sent = [
                await publish_if_advanced(redis, counter, done, stream, {"done": str(done)}, stream_ttl_s=60)
                for done in (0, 200, 196, 200, 400)
            ]
            entries = await redis.xrange(stream)
            return sent, [fields[b"done"] for _id, fields in entries]
        finally:
            await redis.aclose()

    sent, published = asyncio.run(run())
    assert sent == [True, True, False, False, True]
    assert published == [b"0", b"200", b"400"]
