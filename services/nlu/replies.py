"""Replies to a session: ServerMessages on the session's own result stream."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from shopvoice.common.v1.command_pb2 import StageTiming
from shopvoice.gateway.v1.gateway_pb2 import ServerMessage

# A session reads its replies as they come; a short stream is plenty.
REPLY_MAXLEN = 1000


def stage(name: str) -> StageTiming:
    return StageTiming(stage=name, at_unix_nanos=time.time_ns())


class ReplyPublisher:
    def __init__(self, redis: aioredis.Redis, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def send(self, stream: str, message: ServerMessage) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, {"msg": message.SerializeToString()}, maxlen=REPLY_MAXLEN, approximate=True)
            # A session that vanished without cleaning up leaves nothing behind for long.
            pipe.expire(stream, self.ttl_s)
            await pipe.execute()
