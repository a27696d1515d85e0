"""Redis Streams: publishing with trimming, and consumer groups that lose nothing.

A consumer reads with XREADGROUP, acknowledges (XACK) only after its handler
succeeded, reclaims entries a dead consumer left pending (XAUTOCLAIM after
`claim_idle_ms`), and moves an entry that keeps failing to a dead-letter stream
after `max_deliveries` tries, with the reason, never dropping it silently.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import Counter
from redis.exceptions import ResponseError

from shopvoice import log
from shopvoice.redis_keys import dead_letter

Fields = dict[bytes, bytes]
Handler = Callable[[bytes, Fields], Awaitable[None]]

CONSUMED = Counter("sv_stream_entries_total", "Stream entries handled", ["stream", "group", "outcome"])


async def publish(redis: aioredis.Redis, stream: str, fields: dict[str, bytes | str], maxlen: int = 100_000) -> bytes:
    """XADD with approximate MAXLEN trimming, so a stream never grows without bound."""
    entry_id = await redis.xadd(stream, fields, maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
    return entry_id if isinstance(entry_id, bytes) else str(entry_id).encode()


async def ensure_group(redis: aioredis.Redis, stream: str, group: str) -> None:
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


@dataclass
class StreamConsumer:
    redis: aioredis.Redis
    stream: str
    group: str
    consumer: str
    handler: Handler
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    block_ms: int = 1_000
    batch: int = 16
    dead_letter_maxlen: int = 100_000
    # Handlers in flight at once. New entries are read as soon as one finishes, so a
    # slow entry does not hold back the entries read with it (no per-batch barrier).
    concurrency: int = 64

    async def run(self) -> None:
        """Consume forever (until cancelled)."""
        await ensure_group(self.redis, self.stream, self.group)
        # Our own pending entries first: a restart under the same consumer name
        # picks up where the killed process stopped, without waiting for idle time.
        await self._drain_own_pending()
        next_claim = 0.0
        loop = asyncio.get_running_loop()
        in_flight: set[asyncio.Task[None]] = set()
        try:
            while True:
                if loop.time() >= next_claim:
                    await self.reclaim_stuck()
                    next_claim = loop.time() + max(self.claim_idle_ms / 2000, 0.1)
                if len(in_flight) >= self.concurrency:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                response: Any = await self.redis.xreadgroup(
                    self.group,
                    self.consumer,
                    {self.stream: ">"},
                    count=min(self.batch, self.concurrency - len(in_flight)),
                    block=self.block_ms,
                )
                for _stream, entries in response or []:
                    for entry_id, fields in entries:
                        # Read with ">": this is its first delivery, no XPENDING round trip needed.
                        task = asyncio.create_task(self._handle(entry_id, fields, deliveries=1))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
        finally:
            for task in in_flight:
                task.cancel()  # left pending in the stream: redelivered, and handlers are idempotent
            await asyncio.gather(*in_flight, return_exceptions=True)

    async def _drain_own_pending(self) -> None:
        while True:
            response: Any = await self.redis.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=self.batch)
            entries = [(i, f) for _s, batch in response or [] for i, f in batch if f]
            if not entries:
                return
            for entry_id, fields in entries:
                await self._handle(entry_id, fields)

    async def reclaim_stuck(self) -> int:
        """Take over entries another consumer read but never acknowledged."""
        start = "0-0"
        claimed = 0
        while True:
            result: Any = await self.redis.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=self.claim_idle_ms,
                start_id=start,
                count=self.batch,
            )
            start_next, entries = result[0], result[1]
            for entry_id, fields in entries:
                if fields is None:  # deleted by trimming while pending: nothing left to do
                    await self.redis.xack(self.stream, self.group, entry_id)
                    continue
                claimed += 1
                await self._handle(entry_id, fields)
            if start_next in (b"0-0", "0-0"):
                return claimed
            start = start_next

    async def _deliveries(self, entry_id: bytes) -> int:
        pending = await self.redis.xpending_range(self.stream, self.group, min=entry_id, max=entry_id, count=1)
        return int(pending[0]["times_delivered"]) if pending else 1

    async def _handle(self, entry_id: bytes, fields: Fields, deliveries: int = 0) -> None:
        logger = log.get().bind(stream=self.stream, entry_id=entry_id.decode())
        deliveries = deliveries or await self._deliveries(entry_id)
        if deliveries > self.max_deliveries:
            await self._dead_letter(entry_id, fields, f"failed {deliveries - 1} times")
            return
        try:
            await self.handler(entry_id, fields)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Left pending: reclaimed after claim_idle_ms, dead-lettered after max_deliveries.
            CONSUMED.labels(self.stream, self.group, "error").inc()
            logger.exception("handler failed; entry stays pending", deliveries=deliveries, error=str(exc))
            return
        await self.redis.xack(self.stream, self.group, entry_id)
        CONSUMED.labels(self.stream, self.group, "ok").inc()

    async def _dead_letter(self, entry_id: bytes, fields: Fields, reason: str) -> None:
        dead: dict[str | bytes, bytes | str] = {k: v for k, v in fields.items()}
        dead.update({"dead_reason": reason, "dead_entry_id": entry_id, "dead_group": self.group})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(dead_letter(self.stream), dead, maxlen=self.dead_letter_maxlen, approximate=True)  # type: ignore[arg-type]
            pipe.xack(self.stream, self.group, entry_id)
            await pipe.execute()
        CONSUMED.labels(self.stream, self.group, "dead_letter").inc()
        log.get().warning(
            "entry moved to dead-letter stream", stream=self.stream, entry_id=entry_id.decode(), reason=reason
        )


async def close(redis: aioredis.Redis) -> None:
    with contextlib.suppress(Exception):
        await redis.aclose()
