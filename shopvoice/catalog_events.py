"""Following the catalog's event stream for products that come, go or are renamed.

The NLU's and the support service's vocabulary caches drop a merchant's entry on such an event,
and the ASR refreshes its grammar's words; all tail the stream themselves (XREAD, no consumer
group), because every replica needs every event. A price or stock change is no such event: a busy
shop makes hundreds a second, and reacting to each made every reader re-fetch its whole vocabulary
for nearly every command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from shopvoice import log
from shopvoice.events.v1.events_pb2 import Event


async def stream_end(redis: aioredis.Redis, stream: str) -> str:
    """The id of the stream's last entry ("0-0" for none): where a follower starts.

    Not XREAD's "$": that means the end of the stream at each call, so an event added between
    a read that timed out empty and the next one was never seen, and the merchant's new product
    stayed unknown until a cache's TTL ran out. An explicit id, taken before the first fetch of a
    vocabulary, also covers an event written while the follower task was still starting.
    """
    last: Any = await redis.xrevrange(stream, count=1)  # [(id, fields)]: bytes, the client does not decode
    return last[0][0].decode() if last else "0-0"


async def follow_product_changes(
    redis: aioredis.Redis, stream: str, after: str | None, on_change: Callable[[str], None], retry_s: float = 0.2
) -> None:
    """Call on_change(merchant_id) for every ProductChanged event after the id `after` (runs until
    cancelled); None: after the stream's end when the follower first reaches Redis.

    Supervised: an error (Redis away, an entry that does not decode) is logged and the follower
    resumes from the last id it handled, so no event is skipped.
    """
    last_id = after
    failures = 0
    while True:
        try:
            if last_id is None:
                last_id = await stream_end(redis, stream)
            response: Any = await redis.xread({stream: last_id}, count=100, block=1000)
            failures = 0
        except Exception as exc:  # supervised: log, back off, resume
            failures += 1
            log.get().warning(
                "catalog event follower: read failed, resuming", error=repr(exc)[:200], last_id=str(last_id)
            )
            await asyncio.sleep(min(retry_s * failures, 5.0))
            continue
        for _stream, entries in response or []:
            for entry_id, fields in entries:
                last_id = entry_id
                try:
                    event = Event.FromString(fields[b"event"])
                except Exception as exc:  # one bad entry must not stop the follower
                    log.get().warning(
                        "catalog event follower: entry skipped", entry_id=str(entry_id), error=repr(exc)[:200]
                    )
                    continue
                if event.WhichOneof("payload") == "product_changed":
                    on_change(event.merchant_id)
