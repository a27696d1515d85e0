"""The reply-stream protocol: how replies reach the gateway process that holds a session.

- The stream: RedisKeys.results(session_id). The gateway names it and each Utterance
  carries it (`reply_stream`), so whoever answers (the NLU, the worker's bulk jobs)
  writes where it is told and never builds the name itself.
- One entry per message: field "msg", a serialized gateway.v1.ServerMessage.
  `entry` writes it, `read` reads it back.
- Trimmed to REPLY_MAXLEN entries, and expiring `ttl_s` after the last write, so a
  session that vanished without cleaning up leaves nothing behind for long.
"""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from shopvoice.gateway.v1.gateway_pb2 import ServerMessage

FIELD = "msg"
# A session reads its replies as they come; a short stream is plenty.
REPLY_MAXLEN = 1000


def entry(message: ServerMessage) -> dict[str, bytes | str]:
    """The stream entry that carries one message."""
    return {FIELD: message.SerializeToString()}


def read(fields: dict[bytes, bytes]) -> ServerMessage:
    """The message an entry carries."""
    return ServerMessage.FromString(fields[FIELD.encode()])


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
        pipe.xadd(stream, entry(message), maxlen=REPLY_MAXLEN, approximate=True)  # type: ignore[arg-type]
        pipe.expire(stream, self.ttl_s)
