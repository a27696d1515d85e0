"""Transactional outbox: events written with the change, relayed to Redis Streams.

`enqueue` runs inside the service's transaction, so an event exists if and only
if its change committed. `OutboxRelay` publishes unpublished rows in order and
marks them; a crash between XADD and the mark republishes the event, which is
why consumers dedupe on event_id (at least once, never lost).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis

from shopvoice import log, streams, tracing
from shopvoice.db import Conn, Pool
from shopvoice.events.v1.events_pb2 import Event


def new_event(merchant_id: str) -> Event:
    event = Event(event_id=str(uuid.uuid4()), merchant_id=merchant_id, trace=tracing.current_message())
    event.occurred_at.FromDatetime(datetime.now(UTC))
    return event


async def enqueue(conn: Conn, stream: str, event: Event) -> None:
    await conn.execute(
        "INSERT INTO outbox (event_id, merchant_id, stream, payload) VALUES (%s, %s, %s, %s)",
        (event.event_id, event.merchant_id, stream, event.SerializeToString()),
    )


async def already_processed(conn: Conn, consumer: str, event_id: str) -> bool:
    """Mark an event as consumed; True when it was consumed before (skip it).

    Call inside the transaction that applies the event, so both commit together.
    """
    cur = await conn.execute(
        "INSERT INTO processed_events (consumer, event_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (consumer, event_id),
    )
    return await cur.fetchone() is None


class OutboxRelay:
    def __init__(
        self,
        pool: Pool,
        redis: aioredis.Redis,
        maxlen: int = 100_000,
        idle_sleep_s: float = 0.05,
        batch: int = 200,
    ) -> None:
        self.pool = pool
        self.redis = redis
        self.maxlen = maxlen
        self.idle_sleep_s = idle_sleep_s
        self.batch = batch

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows it published."""
        async with self.pool.connection() as conn, conn.transaction():
            # SKIP LOCKED lets several replicas relay without publishing a row twice at once.
            cur = await conn.execute(
                "SELECT id, stream, payload FROM outbox WHERE published_at IS NULL"
                " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (self.batch,),
            )
            rows = await cur.fetchall()
            if not rows:
                return 0
            async with self.redis.pipeline(transaction=False) as pipe:
                for row in rows:
                    pipe.xadd(row["stream"], {"event": bytes(row["payload"])}, maxlen=self.maxlen, approximate=True)
                await pipe.execute()
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", ([row["id"] for row in rows],)
            )
            return len(rows)

    async def run(self) -> None:
        logger = log.get().bind(component="outbox_relay")
        while True:
            try:
                published = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("outbox relay failed; retrying")
                published = 0
                await asyncio.sleep(0.5)
            if not published:
                await asyncio.sleep(self.idle_sleep_s)


def decode(fields: streams.Fields) -> Event:
    event = Event()
    event.ParseFromString(fields[b"event"])
    return event
