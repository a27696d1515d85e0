"""One conversation: client turns go to sv:transcripts, replies come back from the
session's own result stream and are forwarded to the client as they arrive."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from services.gateway.auth import Principal
from shopvoice import streams
from shopvoice.common.v1.command_pb2 import StageTiming, TraceContext
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.nlu.v1.nlu_pb2 import Utterance

# Messages after which an utterance needs nothing more from the NLU.
TERMINAL = frozenset({"result", "confirmation", "clarification", "error"})
# Spoken equivalents of the confirm / cancel buttons (DESIGN.md: 确认 / 算了).
BUTTON_TEXT = {"confirm": "confirm", "cancel": "cancel"}


def stage(name: str) -> StageTiming:
    return StageTiming(stage=name, at_unix_nanos=time.time_ns())


@dataclass
class Session:
    principal: Principal
    language: str
    prefix: str
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    outstanding: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)  # delivered, so a redelivered reply is not sent twice
    started_at: float = field(default_factory=time.monotonic)

    @property
    def reply_stream(self) -> str:
        return f"{self.prefix}:results:{self.session_id}"

    @property
    def transcripts_stream(self) -> str:
        return f"{self.prefix}:transcripts"


class SessionIO:
    """Moves one session's messages between the client and Redis."""

    def __init__(self, redis: aioredis.Redis, session: Session, maxlen: int) -> None:
        self.redis = redis
        self.session = session
        self.maxlen = maxlen
        self.settled = asyncio.Event()  # set whenever nothing is outstanding
        self.settled.set()

    async def submit_text(self, text: str, utterance_id: str, trace: TraceContext) -> str:
        utterance_id = utterance_id or uuid.uuid4().hex
        # A client retry of a turn: it goes through again (the owning service replays its
        # first result), and its new reply is delivered.
        self.session.finished.discard(utterance_id)
        utterance = Utterance(
            utterance_id=utterance_id,
            session_id=self.session.session_id,
            merchant_id=self.session.principal.merchant_id,
            user_id=self.session.principal.user_id,
            role=self.session.principal.role,
            text=text,
            language=self.session.language,
            trace=trace,
            timings=[stage("final_transcript")],
            reply_stream=self.session.reply_stream,
        )
        self.session.outstanding.add(utterance_id)
        self.settled.clear()
        await streams.publish(
            self.redis, self.session.transcripts_stream, {"utterance": utterance.SerializeToString()}, self.maxlen
        )
        return utterance_id

    async def replies(self) -> AsyncIterator[gw.ServerMessage]:
        """Replies in order, each delivered once, until cancelled."""
        last_id = b"0-0"
        while True:
            try:
                response: Any = await self.redis.xread({self.session.reply_stream: last_id}, count=64, block=1000)
            except RedisConnectionError:
                await asyncio.sleep(0.2)
                continue
            for _stream, entries in response or []:
                for entry_id, fields in entries:
                    last_id = entry_id
                    message = gw.ServerMessage.FromString(fields[b"msg"])
                    if message.utterance_id in self.session.finished:
                        continue
                    kind = message.WhichOneof("kind")
                    if kind == "result":
                        message.result.timings.append(stage("delivered"))
                    if kind in TERMINAL:
                        self.session.finished.add(message.utterance_id)
                        self.session.outstanding.discard(message.utterance_id)
                        if not self.session.outstanding:
                            self.settled.set()
                    yield message

    async def close(self) -> None:
        await self.redis.delete(self.session.reply_stream)
