"""One reader for the reply streams of every session of this gateway process.

A blocking XREAD per session holds a Redis connection per session (redis-py's
pool stops at 100) and costs a round trip per reply. Instead one loop reads all
open sessions' reply streams in a single XREAD and hands each entry to its
session's queue: one connection, and one round trip for many replies under load.
Sessions then wait on an asyncio queue, which is always safe to cancel.

A session that opens while the read is blocked would wait for it to time out,
so opening one adds an entry to this process's own wake-up stream, which is
part of every read.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shopvoice import log
from shopvoice.redis_keys import RedisKeys
from shopvoice.streams import Fields

WAKE_MAXLEN = 16
WAKE_TTL_S = 3600  # a crashed process's wake-up stream does not stay behind


@dataclass
class Route:
    last_id: bytes = b"0-0"
    queue: asyncio.Queue[Fields] = field(default_factory=asyncio.Queue)


class ReplyRouter:
    def __init__(self, redis: aioredis.Redis, prefix: str, block_ms: int = 1000, count: int = 256) -> None:
        self.redis = redis
        self.block_ms = block_ms
        self.count = count
        self.wake_key = RedisKeys(prefix).gateway_wake(uuid.uuid4().hex).encode()
        self._wake_id = b"0-0"
        self._routes: dict[bytes, Route] = {}
        self._changed = asyncio.Event()

    async def open(self, stream: str) -> asyncio.Queue[Fields]:
        """Start routing a reply stream; its entries arrive on the returned queue, in order."""
        route = self._routes.setdefault(stream.encode(), Route())
        self._changed.set()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(self.wake_key, {"w": b"1"}, maxlen=WAKE_MAXLEN, approximate=True)
            pipe.expire(self.wake_key, WAKE_TTL_S)
            await pipe.execute()
        return route.queue

    def close(self, stream: str) -> None:
        self._routes.pop(stream.encode(), None)

    async def run(self) -> None:
        """Route forever (a background job of the gateway process)."""
        try:
            while True:
                if not self._routes:
                    self._changed.clear()
                    await self._changed.wait()
                    continue
                try:
                    await self._read_once()
                except Exception:  # never let one bad entry stop every session's replies
                    log.get().exception("reply router read failed; continuing")
                    await asyncio.sleep(0.2)
        finally:
            await self.redis.delete(self.wake_key)

    async def _read_once(self) -> None:
        streams: dict[Any, Any] = {self.wake_key: self._wake_id}
        streams.update({key: route.last_id for key, route in self._routes.items()})
        try:
            response: Any = await self.redis.xread(streams, count=self.count, block=self.block_ms)
        except (RedisConnectionError, RedisTimeoutError):
            log.get().warning("reply router cannot reach Redis; retrying")
            await asyncio.sleep(0.2)
            return
        for key, entries in response or []:
            if not entries:
                continue
            if key == self.wake_key:
                self._wake_id = entries[-1][0]
                continue
            route = self._routes.get(key)
            if route is None:  # closed while the read was under way
                continue
            route.last_id = entries[-1][0]
            for _entry_id, fields in entries:
                route.queue.put_nowait(fields)
