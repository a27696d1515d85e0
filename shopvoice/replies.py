"""Replies to a session: ServerMessages on the session's own result stream."""

from __future__ import annotations

import time

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

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

    async def send(self, stream: str, *messages: ServerMessage) -> None:
        """Publish the messages, in order, in one round trip."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for message in messages:
                self.send_in(pipe, stream, message)
            await pipe.execute()

    def send_in(self, pipe: Pipeline, stream: str, message: ServerMessage) -> None:
        """Queue the reply on the caller's pipeline, to be published with the caller's own writes."""
        pipe.xadd(stream, {"msg": message.SerializeToString()}, maxlen=REPLY_MAXLEN, approximate=True)
        # A session that vanished without cleaning up leaves nothing behind for long.
        pipe.expire(stream, self.ttl_s)
