"""The Assistant servicer: authenticate, open a session, pump turns and replies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import redis.asyncio as aioredis

from services.gateway.auth import TokenVerifier
from services.gateway.config import GatewaySettings
from services.gateway.session import BUTTON_TEXT, Session, SessionIO
from shopvoice import log
from shopvoice.errors import DomainError
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.gateway.v1 import gateway_pb2_grpc

MAX_TEXT_CHARS = 2000


class AssistantServicer(gateway_pb2_grpc.AssistantServicer):
    def __init__(self, redis: aioredis.Redis, verifier: TokenVerifier, settings: GatewaySettings) -> None:
        self.redis = redis
        self.verifier = verifier
        self.settings = settings

    async def Converse(
        self, request_iterator: AsyncIterator[gw.ClientMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[gw.ServerMessage]:
        try:
            principal = self.verifier.verify(context.invocation_metadata())
        except DomainError as exc:
            await context.abort(exc.code, str(exc))
        if principal.role == "customer":  # customers use CustomerAssistant/Ask (services/support/gateway_channel.py)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "customer tokens cannot use the merchant assistant")
        first = await anext(request_iterator, None)
        if first is None or first.WhichOneof("kind") != "start":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be SessionStart")
        session = Session(principal=principal, language=first.start.language, prefix=self.settings.stream_prefix)
        io = SessionIO(self.redis, session, self.settings.stream_maxlen)
        logger = log.get().bind(session_id=session.session_id, merchant_id=principal.merchant_id)
        logger.info("session started", user_id=principal.user_id, role=principal.role)
        yield gw.ServerMessage(
            started=gw.SessionStarted(session_id=session.session_id, merchant_id=principal.merchant_id)
        )

        outbox: asyncio.Queue[gw.ServerMessage | None] = asyncio.Queue(maxsize=256)

        async def forward_replies() -> None:
            async for message in io.replies():
                await outbox.put(message)

        async def take_turns() -> None:
            try:
                await self._take_turns(request_iterator, io, outbox)
            finally:
                await outbox.put(None)

        tasks = [asyncio.create_task(forward_replies()), asyncio.create_task(take_turns())]
        try:
            while (message := await outbox.get()) is not None:
                yield message
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await io.close()
            logger.info("session ended")

    async def _take_turns(
        self,
        request_iterator: AsyncIterator[gw.ClientMessage],
        io: SessionIO,
        outbox: asyncio.Queue[gw.ServerMessage | None],
    ) -> None:
        """Client turns until EndSession or half-close; then wait for what is outstanding."""
        async for message in request_iterator:
            kind = message.WhichOneof("kind")
            if kind == "end":
                break
            if kind == "text":
                text = message.text.text.strip()
                if not text or len(text) > MAX_TEXT_CHARS:
                    await outbox.put(self._error("INVALID_ARGUMENT", f"text must be 1-{MAX_TEXT_CHARS} characters"))
                    continue
                await io.submit_text(text, message.text.utterance_id, message.trace)
            elif kind in BUTTON_TEXT:
                await io.submit_text(BUTTON_TEXT[kind], "", message.trace)
            elif kind == "audio":
                await outbox.put(self._error("UNIMPLEMENTED", "this gateway has no ASR configured; send text"))
            else:
                await outbox.put(self._error("INVALID_ARGUMENT", f"unexpected {kind} message in a started session"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(io.settled.wait(), self.settings.reply_wait_s)

    @staticmethod
    def _error(code: str, message: str) -> gw.ServerMessage:
        return gw.ServerMessage(error=gw.Error(code=code, message=message))
