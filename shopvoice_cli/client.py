"""Client of the public Assistant API, shared by the CLI, the demo, tests and load tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.gateway.v1 import gateway_pb2_grpc
from shopvoice_cli.microphone import LiveMicrophone

TERMINAL = frozenset({"result", "confirmation", "clarification", "error"})


class SessionClosed(RuntimeError):
    """The gateway did not start the session, or ended it before the turn's reply."""


@dataclass
class Turn:
    """One utterance and everything the server said about it."""

    text: str
    utterance_id: str
    messages: list[gw.ServerMessage] = field(default_factory=list)
    answered_ns: int = 0  # wall clock: the terminal reply arrived
    speech_end_ns: int = 0  # wall clock: the last chunk of speech was sent (live spoken turns)

    @property
    def final(self) -> gw.ServerMessage | None:
        return next((m for m in reversed(self.messages) if m.WhichOneof("kind") in TERMINAL), None)

    @property
    def transcript(self) -> str:
        """What the ASR heard, finally (a spoken turn); "" for typed text."""
        finals = [
            m.transcript.text for m in self.messages if m.WhichOneof("kind") == "transcript" and m.transcript.is_final
        ]
        return finals[-1] if finals else ""

    @property
    def understood(self) -> gw.Understood | None:
        return next((m.understood for m in self.messages if m.WhichOneof("kind") == "understood"), None)

    @property
    def result(self) -> gw.Result | None:
        final = self.final
        return final.result if final is not None and final.WhichOneof("kind") == "result" else None


class Conversation:
    """A Converse stream driven turn by turn: send a text, wait for its terminal reply."""

    def __init__(
        self,
        target: str,
        token: str,
        language: str = "",
        timeout_s: float = 30,
        client_name: str = "shopvoice-cli",
        channel: grpc.aio.Channel | None = None,
        sample_rate_hz: int = 16_000,
        dry_run: bool = False,
    ) -> None:
        # A caller running many sessions (the load tester) passes one shared channel:
        # its streams multiplex over one HTTP/2 connection, and it stays open after us.
        self._owns_channel = channel is None
        self.channel = channel or grpc.aio.insecure_channel(target)
        self.stub = gateway_pb2_grpc.AssistantStub(self.channel)
        self.client_name = client_name
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.language = language
        self.timeout_s = timeout_s
        self.sample_rate_hz = sample_rate_hz
        self.dry_run = dry_run
        self._requests: asyncio.Queue[gw.ClientMessage | None] = asyncio.Queue()
        self._call: grpc.aio.StreamStreamCall | None = None
        self.session_id = ""
        # Alerts the gateway pushed while a turn was being answered (they belong to no turn).
        self.alerts: list[gw.Alert] = []

    async def _request_stream(self) -> AsyncIterator[gw.ClientMessage]:
        while (message := await self._requests.get()) is not None:
            yield message

    async def __aenter__(self) -> Conversation:
        await self._requests.put(
            gw.ClientMessage(
                start=gw.SessionStart(
                    language=self.language,
                    client_name=self.client_name,
                    encoding=gw.AUDIO_ENCODING_LINEAR_PCM,
                    sample_rate_hz=self.sample_rate_hz,
                    dry_run=self.dry_run,
                )
            )
        )
        self._call = self.stub.Converse(self._request_stream(), metadata=self.metadata)
        try:
            first: Any = await asyncio.wait_for(self._call.read(), self.timeout_s)
            if first is grpc.aio.EOF or first.WhichOneof("kind") != "started":  # type: ignore[attr-defined]
                raise SessionClosed(f"the gateway did not start a session: {first}")
        except BaseException:
            # `async with` runs __aexit__ only after __aenter__ returns: end the request stream
            # and close the channel here, or they are left open behind the error.
            await self.__aexit__()
            raise
        self.session_id = first.started.session_id
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._requests.put(gw.ClientMessage(end=gw.EndSession()))
        await self._requests.put(None)
        if self._call is not None:
            self._call.cancel()
        if self._owns_channel:
            await self.channel.close(None)

    async def speak(
        self,
        pcm: bytes,
        chunk_ms: int = 100,
        realtime: bool = True,
        on_message: Callable[[gw.ServerMessage], None] | None = None,
    ) -> Turn:
        """One spoken utterance: 16-bit mono PCM at the session's rate, streamed in chunks
        (at real-time pace unless `realtime` is off), then end of utterance; returns the
        transcripts and what followed them."""
        chunk_bytes = max(2, self.sample_rate_hz * 2 * chunk_ms // 1000 // 2 * 2)
        for offset in range(0, len(pcm), chunk_bytes):
            await self._requests.put(gw.ClientMessage(audio=gw.AudioChunk(content=pcm[offset : offset + chunk_bytes])))
            if realtime:
                await asyncio.sleep(chunk_ms / 1000)
        await self._requests.put(gw.ClientMessage(audio=gw.AudioChunk(end_of_utterance=True)))
        return await self._collect(Turn(text="", utterance_id=""), on_message)

    async def speak_live(
        self,
        pcm: bytes,
        chunk_ms: int = 100,
        text: str = "",
        on_message: Callable[[gw.ServerMessage], None] | None = None,
    ) -> Turn:
        """One spoken utterance sent as a live microphone would (microphone.py): its speech
        at real-time pace, then silence until the terminal reply, then end of utterance.
        The ASR's endpointer, not the client, decides where the utterance ends; the turn's
        speech_end_ns says when the last speech was sent. `text` is what was said, if known."""
        microphone = LiveMicrophone(pcm, self.sample_rate_hz, chunk_ms)
        answered = asyncio.Event()

        async def send() -> None:
            async for chunk in microphone.chunks(answered):
                await self._requests.put(gw.ClientMessage(audio=gw.AudioChunk(content=chunk)))

        sender = asyncio.create_task(send())
        try:
            turn = await self._collect(Turn(text=text, utterance_id=""), on_message)
        finally:
            answered.set()
            await sender
            await self._requests.put(gw.ClientMessage(audio=gw.AudioChunk(end_of_utterance=True)))
        turn.speech_end_ns = microphone.speech_end_ns
        return turn

    async def say(
        self, text: str, utterance_id: str = "", on_message: Callable[[gw.ServerMessage], None] | None = None
    ) -> Turn:
        turn = Turn(text=text, utterance_id=utterance_id or uuid.uuid4().hex)
        await self._requests.put(gw.ClientMessage(text=gw.TextInput(text=text, utterance_id=turn.utterance_id)))
        return await self._collect(turn, on_message)

    async def press(self, kind: str, on_message: Callable[[gw.ServerMessage], None] | None = None) -> Turn:
        """The confirm / cancel buttons."""
        message = (
            gw.ClientMessage(confirm=gw.ConfirmAction())
            if kind == "confirm"
            else gw.ClientMessage(cancel=gw.CancelAction())
        )
        await self._requests.put(message)
        return await self._collect(Turn(text=kind, utterance_id=""), on_message)

    async def next_alert(self, timeout_s: float) -> gw.Alert:
        """The next alert pushed to the session (between turns); what else arrives meanwhile
        (a late reply of an earlier turn) is dropped. TimeoutError when none comes in time."""
        if self.alerts:
            return self.alerts.pop(0)
        assert self._call is not None
        async with asyncio.timeout(timeout_s):
            while True:
                message: Any = await self._call.read()
                if message is grpc.aio.EOF:  # type: ignore[attr-defined]
                    raise SessionClosed("the gateway closed the session")
                if message.WhichOneof("kind") == "alert":
                    alert: gw.Alert = message.alert
                    return alert

    async def until_closed(self, timeout_s: float) -> tuple[grpc.StatusCode, str]:
        """Read (and drop) messages until the gateway ends the session; its status and details."""
        assert self._call is not None
        try:
            while await asyncio.wait_for(self._call.read(), timeout_s) is not grpc.aio.EOF:  # type: ignore[attr-defined]
                pass
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc.details() or ""
        return await self._call.code(), await self._call.details()

    async def _collect(self, turn: Turn, on_message: Callable[[gw.ServerMessage], None] | None) -> Turn:
        assert self._call is not None
        while True:
            async with asyncio.timeout(self.timeout_s):  # no task per read, unlike wait_for
                message: Any = await self._call.read()
            if message is grpc.aio.EOF:  # type: ignore[attr-defined]  # grpc-stubs lag grpcio
                raise SessionClosed("the gateway closed the session")
            if message.WhichOneof("kind") == "alert":  # pushed, not part of the turn
                self.alerts.append(message.alert)
                if on_message:
                    on_message(message)
                continue
            if turn.utterance_id and message.utterance_id not in ("", turn.utterance_id):
                continue  # a late reply of an earlier turn
            if not turn.utterance_id:
                turn.utterance_id = message.utterance_id
            turn.messages.append(message)
            if on_message:
                on_message(message)
            if message.WhichOneof("kind") in TERMINAL:
                turn.answered_ns = time.time_ns()
                return turn


async def converse(target: str, token: str, texts: Sequence[str], **kwargs: object) -> list[Turn]:
    async with Conversation(target, token) as conversation:
        return [await conversation.say(text, **kwargs) for text in texts]  # type: ignore[arg-type]
