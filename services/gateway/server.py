"""The Assistant servicer: authenticate, admit, pump turns and replies, end sessions cleanly;
and ListAlerts, the merchant's recent alerts.

Alerts for the session's merchant (services/gateway/alerts.py) are pushed to it as they are
raised, between and alongside replies; they never touch a turn.

A session ends when the client ends it (EndSession or half-close, after its
replies), when the client disconnects, when it is idle for
SESSION_IDLE_TIMEOUT_S or older than SESSION_MAX_S (DEADLINE_EXCEEDED), or when
a turn is over the rate limit (RESOURCE_EXHAUSTED with RetryInfo, after the
replies to the turns already accepted).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.gateway.alerts import AlertFeed
from services.gateway.audit import AuditLog
from services.gateway.config import GatewaySettings
from services.gateway.listening import Listener
from services.gateway.ratelimit import RateLimiter
from services.gateway.replies import ReplyRouter
from services.gateway.session import BUTTON_TEXT, Session, SessionIO
from services.gateway.slots import Admission, Holder, SessionSlots
from services.gateway.speech import SpeechRecognizer
from services.gateway.status import abort_exhausted, abort_unavailable
from shopvoice import grpc_server, identity, log
from shopvoice.auth import Principal, TokenVerifier
from shopvoice.common.v1.command_pb2 import StageTiming, TraceContext
from shopvoice.errors import DomainError
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.gateway.v1 import gateway_pb2_grpc
from shopvoice.refusal import refuse_stream

MAX_TEXT_CHARS = 2000
# What Riva's API takes (services/asr resamples anything in it); checked here so a bad
# rate is refused at SessionStart, not on the first audio chunk.
MIN_SAMPLE_RATE_HZ, MAX_SAMPLE_RATE_HZ = 8_000, 48_000
SESSIONS_FULL_RETRY_MS = 1000
# A slot release that fails (Redis busy or away) is retried after 0.2, 0.4 ... 3.2 s (6 s in all);
# then its lease runs out (SESSION_LEASE_S).
RELEASE_TRIES = 6


@dataclass(frozen=True)
class Closing:
    """Why the gateway ends a session itself."""

    code: grpc.StatusCode
    message: str
    retry_after_ms: int = 0


Outbox = asyncio.Queue[gw.ServerMessage | Closing | None]


class AssistantServicer(gateway_pb2_grpc.AssistantServicer):
    def __init__(
        self,
        redis: aioredis.Redis,
        verifier: TokenVerifier,
        settings: GatewaySettings,
        limiter: RateLimiter,
        slots: SessionSlots,
        audit: AuditLog,
        router: ReplyRouter,
        alerts: AlertFeed,
        recognizer: SpeechRecognizer | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.router = router
        self.alerts = alerts
        self.redis = redis
        self.verifier = verifier
        self.settings = settings
        self.limiter = limiter
        self.slots = slots
        self.audit = audit
        self._after: set[asyncio.Task[None]] = set()  # sessions being drained after their call ended
        self._open = 0  # sessions of this process holding a slot

    async def ListAlerts(
        self, request: gw.ListAlertsRequest, context: grpc.aio.ServicerContext
    ) -> gw.ListAlertsResponse:
        """The caller's merchant's recent alerts, newest first: any of the merchant's people may read them."""
        try:
            principal = self.verifier.verify(context.invocation_metadata())
        except DomainError as exc:
            await context.abort(exc.code, str(exc))
        if principal.role == "customer":
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "customer tokens cannot read the shop's alerts")
        if request.limit < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "limit must be 0 (the default, 20) or more")
        try:
            alerts = await self.alerts.recent(
                principal.merchant_id, request.limit, request.language, self.settings.stream_maxlen
            )
        except (RedisError, OSError) as exc:
            await abort_unavailable(context, f"the alert stream is not answering ({type(exc).__name__}); retry shortly")
        return gw.ListAlertsResponse(alerts=alerts)

    async def Converse(
        self, request_iterator: AsyncIterator[gw.ClientMessage], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[gw.ServerMessage]:
        try:
            principal = self.verifier.verify(context.invocation_metadata())
        except DomainError as exc:
            await refuse_stream(context, request_iterator, exc.code, str(exc))
        if principal.role == "customer":  # customers use CustomerAssistant/Ask (customer_channel.py)
            await refuse_stream(
                context,
                request_iterator,
                grpc.StatusCode.PERMISSION_DENIED,
                "customer tokens cannot use the merchant assistant",
            )
        # Bounded: a caller that opens the stream and says nothing would otherwise hold it
        # (and its HTTP/2 stream) for ever, before any session limit applies.
        start_timeout_s = self.settings.session_start_timeout_s
        try:
            first = await asyncio.wait_for(anext(request_iterator, None), start_timeout_s)
        except TimeoutError:
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED,
                f"no SessionStart within {start_timeout_s:g} s of opening the stream (SESSION_START_TIMEOUT_S)",
            )
        if isinstance(first, grpc_server.Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, first.reason("ClientMessage"))
        if first is None or first.WhichOneof("kind") != "start":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message must be SessionStart")
        if first.start.encoding not in (gw.AUDIO_ENCODING_UNSPECIFIED, gw.AUDIO_ENCODING_LINEAR_PCM):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "audio must be LINEAR_PCM (16-bit mono)")
        rate = first.start.sample_rate_hz
        if rate and not MIN_SAMPLE_RATE_HZ <= rate <= MAX_SAMPLE_RATE_HZ:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"sample_rate_hz {rate} is out of range; send {MIN_SAMPLE_RATE_HZ}-{MAX_SAMPLE_RATE_HZ} Hz "
                "(0 means 16000)",
            )
        session = Session(
            principal=principal,
            language=first.start.language,
            prefix=self.settings.stream_prefix,
            sample_rate_hz=first.start.sample_rate_hz,
            dry_run=first.start.dry_run,
        )
        if self._open >= self.settings.max_sessions_per_process:
            await abort_exhausted(
                context,
                f"this gateway has {self._open} sessions open, its most (MAX_SESSIONS_PER_PROCESS); retry shortly",
                SESSIONS_FULL_RETRY_MS,
            )
        holder = Holder(principal.merchant_id, principal.user_id, principal.role)
        # Shielded: a client that leaves while its slot is being taken must not leave the slot held.
        acquiring = asyncio.ensure_future(self.slots.acquire(holder, session.session_id))
        try:
            admission = await asyncio.shield(acquiring)
        except asyncio.CancelledError:
            acquiring.add_done_callback(lambda done: self._release_orphan(done, holder, session.session_id))
            raise
        except (RedisError, OSError) as exc:
            await abort_unavailable(
                context, f"the session store is not answering ({type(exc).__name__}); retry shortly"
            )
        if not admission.granted:
            if admission.full == "user":
                why = (
                    f"user {principal.user_id} already has {admission.user_sessions} sessions open, the most allowed "
                    "(MAX_SESSIONS_PER_USER); end one or retry later"
                )
            else:
                why = (
                    f"merchant {principal.merchant_id} already has {admission.open_sessions} sessions open, the most "
                    "allowed (MAX_SESSIONS_PER_MERCHANT"
                    + (
                        ", the last kept for the owner"
                        if principal.role != "owner" and self.slots.owner_reserved
                        else ""
                    )
                    + "); end one or retry later"
                )
            await abort_exhausted(context, why, SESSIONS_FULL_RETRY_MS)
        self._open += 1
        io = SessionIO(self.redis, self.router, session, self.settings.stream_maxlen, self.audit)
        logger = log.get().bind(session_id=session.session_id, merchant_id=principal.merchant_id)
        logger.info("session started", user_id=principal.user_id, role=principal.role)

        outbox: Outbox = asyncio.Queue(maxsize=256)
        activity = _Activity(asyncio.get_running_loop().time())

        async def forward_replies() -> None:
            while True:
                for message in await io.next_replies():
                    activity.touch()
                    await outbox.put(message)

        async def forward_alerts(alerts: asyncio.Queue[gw.Alert]) -> None:
            # Not activity: an alert alone does not keep an idle session open.
            while True:
                await outbox.put(gw.ServerMessage(alert=await alerts.get()))

        async def take_turns() -> None:
            ending: Closing | None = None
            try:
                await self._take_turns(request_iterator, io, outbox, activity)
                if io.session.outstanding:  # the client finished, but not every turn was answered
                    ending = Closing(
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"{len(io.session.outstanding)} turn(s) got no reply within {self.settings.reply_wait_s:g} s "
                        "(REPLY_WAIT_S); each may still run once: check before sending it again",
                    )
            except (RedisError, OSError) as exc:  # a turn failed: the stream says so, never OK without a reply
                logger.warning("turn failed", error=f"{type(exc).__name__}: {exc}")
                ending = Closing(
                    grpc.StatusCode.UNAVAILABLE,
                    f"the session store is not answering ({type(exc).__name__}); retry shortly",
                    SESSIONS_FULL_RETRY_MS,
                )
            except Exception as exc:
                logger.exception("turn failed")
                ending = Closing(grpc.StatusCode.INTERNAL, f"the gateway failed a turn ({type(exc).__name__})")
            finally:
                await outbox.put(ending)

        closing: Closing | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            await io.open()
            alerts = self.alerts.subscribe(principal.merchant_id, session.session_id, session.language)
            # Calls made for this session (the ASR) carry the speaker's identity (shopvoice.identity).
            with identity.acting_as(
                identity.Claims("gateway", principal.merchant_id, principal.user_id, principal.role, session.session_id)
            ):
                tasks += [
                    asyncio.create_task(forward_replies()),
                    asyncio.create_task(forward_alerts(alerts)),
                    asyncio.create_task(take_turns()),
                    asyncio.create_task(self._keep(session, io, outbox, activity)),
                ]
            yield gw.ServerMessage(
                started=gw.SessionStarted(session_id=session.session_id, merchant_id=principal.merchant_id)
            )
            while (item := await outbox.get()) is not None:
                if isinstance(item, Closing):
                    closing = item
                    break
                yield item
        except (RedisError, OSError) as exc:
            closing = Closing(
                grpc.StatusCode.UNAVAILABLE,
                f"the session store is not answering ({type(exc).__name__}); retry shortly",
                SESSIONS_FULL_RETRY_MS,
            )
        finally:
            self.alerts.unsubscribe(principal.merchant_id, session.session_id)
            for task in tasks:
                task.cancel()
            # Not awaited here: this call may be being cancelled (the client left); the
            # clean-up runs on its own so it is never cut short.
            after = asyncio.create_task(self._end(session, io, tasks))
            self._after.add(after)
            after.add_done_callback(self._after.discard)
            logger.info("session ended", reason=closing.message if closing else "client")
        if closing is not None:
            if closing.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                await abort_exhausted(context, closing.message, closing.retry_after_ms)
            if closing.code == grpc.StatusCode.UNAVAILABLE:
                await abort_unavailable(context, closing.message)
            await context.abort(closing.code, closing.message)

    async def _end(self, session: Session, io: SessionIO, tasks: list[asyncio.Task[None]]) -> None:
        # Their Redis calls are shielded, so cancelled tasks end at once; the
        # timeout only keeps a surprise from holding the slot and the drain hostage.
        _done, stuck = await asyncio.wait(tasks, timeout=5) if tasks else (set(), set())
        if stuck:
            log.get().warning("session tasks did not stop in 5 s", session_id=session.session_id, tasks=len(stuck))
        self._open -= 1
        holder = Holder(session.principal.merchant_id, session.principal.user_id, session.principal.role)
        for attempt in range(RELEASE_TRIES):
            try:
                await self.slots.release(holder, session.session_id)
                break
            except Exception:
                if attempt == RELEASE_TRIES - 1:
                    log.get().exception(
                        "could not release the session slot; its lease runs out", session_id=session.session_id
                    )
                else:
                    await asyncio.sleep(0.2 * 2**attempt)
        try:
            await io.drain(self.settings.reply_wait_s)
        except Exception:
            log.get().exception("session drain failed", session_id=session.session_id)

    def _release_orphan(self, acquired: asyncio.Future[Admission], holder: Holder, session_id: str) -> None:
        if acquired.cancelled() or acquired.exception() is not None or not acquired.result().granted:
            return
        task = asyncio.ensure_future(self.slots.release(holder, session_id))
        self._after.add(task)
        task.add_done_callback(self._after.discard)

    async def wait_drained(self) -> None:
        """At shutdown: let sessions that just ended audit what they had in flight."""
        if self._after:
            await asyncio.gather(*self._after, return_exceptions=True)

    async def _keep(self, session: Session, io: SessionIO, outbox: Outbox, activity: _Activity) -> None:
        """Renew the session's slot; end it when idle or too old."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        renew_every = self.slots.lease_ms / 3000
        holder = Holder(session.principal.merchant_id, session.principal.user_id, session.principal.role)
        next_renew = started + renew_every
        idle_s, max_s = self.settings.session_idle_timeout_s, self.settings.session_max_s
        while True:
            now = loop.time()
            if now - started >= max_s:
                await outbox.put(
                    Closing(
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"session reached SESSION_MAX_S ({max_s:g} s); start a new one",
                    )
                )
                return
            if io.settled.is_set() and now - activity.last >= idle_s:
                await outbox.put(
                    Closing(
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"session idle for {idle_s:g} s (SESSION_IDLE_TIMEOUT_S); start a new one",
                    )
                )
                return
            if now >= next_renew:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.slots.renew(holder, session.session_id))
                next_renew = now + renew_every
            wake = min(started + max_s, activity.last + idle_s, next_renew)
            await asyncio.sleep(min(max(wake - now, 0.05), 1.0))

    async def _take_turns(
        self, request_iterator: AsyncIterator[gw.ClientMessage], io: SessionIO, outbox: Outbox, activity: _Activity
    ) -> None:
        """Client turns until EndSession or half-close; then wait for what is outstanding."""
        listener = self._listener(io, outbox)
        try:
            await self._turns(request_iterator, io, outbox, activity, listener)
        finally:
            if listener is not None:
                await listener.finish(self.settings.reply_wait_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(io.settled.wait(), self.settings.reply_wait_s)

    def _listener(self, io: SessionIO, outbox: Outbox) -> Listener | None:
        """The session's audio path, when the gateway has an ASR."""
        if self.recognizer is None:
            return None
        principal = io.session.principal

        async def submit(
            text: str, utterance_id: str, trace: TraceContext, audio_end: StageTiming, confidence: float
        ) -> bool:
            if not await self._within_rate(principal, io, outbox, text, utterance_id):
                return False
            await asyncio.shield(
                io.submit_text(text, utterance_id, trace, earlier=[audio_end], speech_confidence=confidence)
            )
            return True

        return Listener(
            self.recognizer,
            io.session.sample_rate_hz,
            io.session.language,
            outbox.put,
            submit,
            max_utterance_s=self.settings.max_utterance_s,
        )

    async def _turns(
        self,
        request_iterator: AsyncIterator[gw.ClientMessage],
        io: SessionIO,
        outbox: Outbox,
        activity: _Activity,
        listener: Listener | None,
    ) -> None:
        principal = io.session.principal
        async for message in request_iterator:
            activity.touch()
            if isinstance(message, grpc_server.Malformed):  # a bad frame is answered; the session goes on
                await outbox.put(self._error("INVALID_ARGUMENT", message.reason("ClientMessage")))
                continue
            kind = message.WhichOneof("kind")
            if kind == "end":
                break
            if kind == "text":
                text = message.text.text.strip()
                if not text or len(text) > MAX_TEXT_CHARS:
                    await outbox.put(self._error("INVALID_ARGUMENT", f"text must be 1-{MAX_TEXT_CHARS} characters"))
                    continue
            elif kind in BUTTON_TEXT:
                text = BUTTON_TEXT[kind]
            elif kind == "audio":
                if listener is None:
                    await outbox.put(self._error("UNIMPLEMENTED", "this gateway has no ASR configured; send text"))
                else:
                    await listener.feed(message.audio, message.trace)
                continue
            else:
                await outbox.put(self._error("INVALID_ARGUMENT", f"unexpected {kind} message in a started session"))
                continue
            utterance_id = message.text.utterance_id if kind == "text" else ""
            if not await self._within_rate(principal, io, outbox, text, utterance_id):
                return
            # Shielded: a turn the gateway has taken is submitted whole even if the client
            # vanishes now (one XADD: on the stream or not), and no Redis call is cut mid-way.
            await asyncio.shield(io.submit_text(text, utterance_id, message.trace))

    async def _within_rate(
        self, principal: Principal, io: SessionIO, outbox: Outbox, text: str, utterance_id: str
    ) -> bool:
        verdict = await asyncio.shield(self.limiter.take(principal.merchant_id, principal.user_id))
        if verdict.allowed:
            return True
        self.audit.record(
            io.session.audit(
                utterance_id, text, "RESOURCE_EXHAUSTED", grpc_code="RESOURCE_EXHAUSTED", message=verdict.reason
            )
        )
        # The turns already accepted get their replies first; then the call ends with RetryInfo.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(io.settled.wait(), self.settings.reply_wait_s)
        await outbox.put(Closing(grpc.StatusCode.RESOURCE_EXHAUSTED, verdict.reason, verdict.retry_after_ms))
        return False

    @staticmethod
    def _error(code: str, message: str) -> gw.ServerMessage:
        return gw.ServerMessage(error=gw.Error(code=code, message=message))


class _Activity:
    """When the session last saw a client message or forwarded a reply (loop time)."""

    def __init__(self, at: float) -> None:
        self.last = at

    def touch(self) -> None:
        self.last = asyncio.get_running_loop().time()
