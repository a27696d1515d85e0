"""One conversation: client turns go to sv:transcripts, replies come back from the
session's own result stream and are forwarded to the client as they arrive.

Every turn is audited once its terminal reply is known. A client that leaves
with turns in flight leaves nothing half-done: its utterances are already on
the transcripts stream (one XADD: there or not), the NLU applies and
acknowledges them as usual, and `drain` keeps reading the session's replies for
a while so each one is audited (as not delivered) before the reply stream is
deleted.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from services.gateway.audit import AuditLog, AuditRecord, now
from services.gateway.replies import ReplyRouter
from shopvoice import replies, streams
from shopvoice.auth import Principal
from shopvoice.common.v1.command_pb2 import Command, StageTiming, TraceContext
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.nlu.v1.nlu_pb2 import Utterance
from shopvoice.redis_keys import RedisKeys
from shopvoice.streams import Fields
from shopvoice.tracing import stage

# Messages after which an utterance needs nothing more from the NLU.
TERMINAL = frozenset({"result", "confirmation", "clarification", "error"})
# Spoken equivalents of the confirm / cancel buttons (docs/design.md: 确认 / 算了).
BUTTON_TEXT = {"confirm": "confirm", "cancel": "cancel"}


@dataclass
class Pending:
    """What the gateway knows of a turn until its terminal reply: for the audit record."""

    text: str
    heard_at: datetime
    understood: Command | None = None


@dataclass
class Session:
    principal: Principal
    language: str
    prefix: str
    sample_rate_hz: int = 16_000  # of the session's audio, when it speaks
    dry_run: bool = False  # understand only, execute nothing
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    outstanding: dict[str, Pending] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)  # delivered, so a redelivered reply is not sent twice
    started_at: float = field(default_factory=time.monotonic)

    @property
    def reply_stream(self) -> str:
        return RedisKeys(self.prefix).results(self.session_id)

    @property
    def transcripts_stream(self) -> str:
        return RedisKeys(self.prefix).transcripts

    def audit(self, utterance_id: str, heard: str, status: str, **fields: Any) -> AuditRecord:
        return AuditRecord(
            merchant_id=self.principal.merchant_id,
            user_id=self.principal.user_id,
            role=self.principal.role,
            session_id=self.session_id,
            utterance_id=utterance_id,
            heard_at=fields.pop("heard_at", None) or now(),
            heard=heard,
            status=status,
            **fields,
        )


class SessionIO:
    """Moves one session's messages between the client and Redis."""

    def __init__(
        self, redis: aioredis.Redis, router: ReplyRouter, session: Session, maxlen: int, audit: AuditLog
    ) -> None:
        self.redis = redis
        self.router = router
        self._replies: asyncio.Queue[Fields] | None = None
        self.session = session
        self.maxlen = maxlen
        self.audit = audit
        self.settled = asyncio.Event()  # set whenever nothing is outstanding
        self.settled.set()
        self.client_gone = False

    async def submit_text(
        self,
        text: str,
        utterance_id: str,
        trace: TraceContext,
        earlier: list[StageTiming] | None = None,
        speech_confidence: float = 0.0,
    ) -> str:
        """Put a final transcript (typed or heard) on sv:transcripts; `earlier`: stages before
        the transcript was final (audio_end for speech)."""
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
            timings=[*(earlier or []), stage("final_transcript")],
            reply_stream=self.session.reply_stream,
            dry_run=self.session.dry_run,
            speech_confidence=speech_confidence,
        )
        self.session.outstanding[utterance_id] = Pending(text, now())
        self.settled.clear()
        await streams.publish(
            self.redis, self.session.transcripts_stream, {"utterance": utterance.SerializeToString()}, self.maxlen
        )
        return utterance_id

    async def open(self) -> None:
        """Start receiving this session's replies (before anything is submitted)."""
        self._replies = await self.router.open(self.session.reply_stream)

    async def next_replies(self) -> list[gw.ServerMessage]:
        """The replies that arrived since the last call, in order, each once.

        Waits on the router's queue only: cancelling it (the client left) cuts no Redis call.
        """
        assert self._replies is not None, "open() first"
        batch = [await self._replies.get()]
        while not self._replies.empty():
            batch.append(self._replies.get_nowait())
        out: list[gw.ServerMessage] = []
        for fields in batch:
            message = replies.read(fields)
            if message.utterance_id in self.session.finished:
                continue
            kind = message.WhichOneof("kind")
            pending = self.session.outstanding.get(message.utterance_id)
            if kind == "understood" and pending is not None:
                pending.understood = message.understood.command
            if kind == "result":
                message.result.timings.append(stage("delivered"))
            if kind in TERMINAL:
                self._finish(message, pending)
            out.append(message)
        return out

    def _finish(self, message: gw.ServerMessage, pending: Pending | None) -> None:
        uid = message.utterance_id
        self.session.finished.add(uid)
        self.session.outstanding.pop(uid, None)
        if not self.session.outstanding:
            self.settled.set()
        if pending is None:
            return
        kind = message.WhichOneof("kind")
        fields: dict[str, Any] = {"understood": pending.understood, "heard_at": pending.heard_at}
        if kind == "result":
            result = message.result
            status = gw.ResultStatus.Name(result.status)
            fields.update(grpc_code=result.grpc_code, message=result.message, timings=list(result.timings))
            if result.HasField("change"):
                fields["change"] = result.change
        elif kind == "confirmation":
            status, fields["message"] = "CONFIRMATION_ASKED", message.confirmation.prompt
            fields["rule"] = message.confirmation.rule
        else:
            status, fields["grpc_code"], fields["message"] = "ERROR", message.error.code, message.error.message
        # Delivered means the caller was still connected when it was handed over.
        self.audit.record(self.session.audit(uid, pending.text, status, delivered=not self.client_gone, **fields))

    async def drain(self, wait_s: float) -> None:
        """After the client left: audit what is still in flight, then remove the reply stream."""
        self.client_gone = True
        if self.session.outstanding and self._replies is not None:
            try:
                async with asyncio.timeout(wait_s):
                    while self.session.outstanding:
                        await self.next_replies()
            except TimeoutError:
                pass
        for uid, pending in list(self.session.outstanding.items()):
            self.audit.record(
                self.session.audit(
                    uid,
                    pending.text,
                    "NO_REPLY",
                    heard_at=pending.heard_at,
                    understood=pending.understood,
                    message=f"no result within {wait_s:g} s of the caller leaving; it may still run once",
                    delivered=False,
                )
            )
        self.session.outstanding.clear()
        self.router.close(self.session.reply_stream)
        await self.redis.delete(self.session.reply_stream)
