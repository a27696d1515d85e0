"""The audio turns of one session: each utterance's chunks go to the ASR as they
arrive; interim transcripts go back to the client at once; a final transcript
becomes an utterance for the NLU, exactly as typed text does."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc

from services.gateway.speech import DEFAULT_LANGUAGE, SpeechRecognizer
from shopvoice import log
from shopvoice.common.v1.command_pb2 import StageTiming, TraceContext
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.tracing import stage

# Chunks in flight to the ASR per utterance: bounded, so a client that sends faster
# than the ASR reads is slowed down (backpressure), not buffered without end.
QUEUE_CHUNKS = 64

DEFAULT_MAX_UTTERANCE_S = 60.0

Send = Callable[[gw.ServerMessage], Awaitable[None]]
# (text, utterance id, trace, audio_end timing) -> whether the turn was taken (rate limit).
Submit = Callable[[str, str, TraceContext, StageTiming, float], Awaitable[bool]]


class _Utterance:
    """One utterance's audio on its way to the ASR. Once its reader stops (the ASR refused the
    stream, or it ended), `closed` is set and the rest of its audio is dropped, never waited on:
    a full queue nobody reads would hold the whole session (its text turns and EndSession too)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=QUEUE_CHUNKS)
        self.closed = False
        self.bytes = 0
        self.too_long = False
        self.task: asyncio.Task[None] | None = None  # its reader

    async def put(self, item: bytes | None) -> None:
        if not self.closed:
            await self.queue.put(item)

    def close(self) -> None:
        self.closed = True
        while not self.queue.empty():  # frees a feed blocked on a full queue
            self.queue.get_nowait()


class Listener:
    def __init__(
        self,
        recognizer: SpeechRecognizer,
        sample_rate_hz: int,
        language: str,
        send: Send,
        submit: Submit,
        max_utterance_s: float = DEFAULT_MAX_UTTERANCE_S,
    ):
        self.recognizer = recognizer
        self.sample_rate_hz = sample_rate_hz or 16_000
        self.language = language
        self.send = send
        self.submit = submit
        self.max_utterance_s = max_utterance_s
        self.max_utterance_bytes = int(max_utterance_s * self.sample_rate_hz * 2)  # 16-bit mono
        self._utterance: _Utterance | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def feed(self, chunk: gw.AudioChunk, trace: TraceContext) -> None:
        """One client audio message; `end_of_utterance` closes the utterance's stream."""
        if self._utterance is None:
            self._utterance = _Utterance()
            task = asyncio.create_task(self._listen(self._utterance, trace))
            self._utterance.task = task
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        utterance = self._utterance
        if chunk.content and not utterance.too_long:
            utterance.bytes += len(chunk.content)
            if utterance.bytes > self.max_utterance_bytes:
                # Refused here, as INVALID_ARGUMENT: the ASR's own cut races the audio still being
                # written and reaches an aio client as INTERNAL (grpc/grpc#36066).
                utterance.too_long = True
                await self.send(
                    gw.ServerMessage(
                        error=gw.Error(
                            code="INVALID_ARGUMENT",
                            message=f"an utterance may last at most {self.max_utterance_s:g} s (MAX_UTTERANCE_S); "
                            "end it sooner (end_of_utterance) and send the rest as another",
                        )
                    )
                )
                utterance.close()
                if utterance.task is not None:  # nothing of it is recognised or run
                    utterance.task.cancel()
            else:
                await utterance.put(chunk.content)
        if chunk.end_of_utterance:
            await utterance.put(None)
            self._utterance = None

    async def finish(self, timeout_s: float) -> None:
        """The client is done: close an open utterance and wait for its transcripts."""
        if self._utterance is not None:
            await self._utterance.put(None)
            self._utterance = None
        if self._tasks:
            # asyncio.wait, not wait_for(gather(...)): a gather cancelled from outside (the session
            # ending meanwhile) logged "_GatheringFuture exception was never retrieved". What is
            # not done in time, or when this wait is cancelled, is cancelled, as before.
            late = set(self._tasks)
            try:
                _done, late = await asyncio.wait(late, timeout=timeout_s)
            finally:
                for task in late:
                    task.cancel()

    async def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _listen(self, utterance: _Utterance, trace: TraceContext) -> None:
        try:
            await self._recognize(utterance, trace)
        finally:
            utterance.close()

    async def _recognize(self, utterance: _Utterance, trace: TraceContext) -> None:
        queue = utterance.queue
        utterance_id = uuid.uuid4().hex
        audio_end: StageTiming | None = None

        async def audio() -> AsyncIterator[bytes]:
            nonlocal audio_end
            while (chunk := await queue.get()) is not None:
                yield chunk
            audio_end = stage("audio_end")

        finals = 0
        language = self.language or DEFAULT_LANGUAGE
        # Nothing the recogniser stood by (noise, other languages, chatter it rejected): said in the
        # merchant's language, and nothing is done.
        sorry = "抱歉，我没听清。" if language.lower().startswith("zh") else "Sorry, I didn't catch that."
        nothing_heard = gw.Error(code="NOT_FOUND", message=sorry)
        served = await self.recognizer.served_languages()
        if served is not None and language not in served:
            # Said here rather than left to the ASR's refusal: a refusal that races the
            # audio still being written reaches an aio client as INTERNAL (grpc/grpc#36066).
            message = (
                f"speech in {language} is not recognised by this deployment's ASR (it serves "
                f"{', '.join(sorted(served))}); type the command, or start the session in a served language"
            )
            await self.send(
                gw.ServerMessage(utterance_id=utterance_id, error=gw.Error(code="INVALID_ARGUMENT", message=message))
            )
            async for _chunk in audio():  # the rest of the utterance, so the session is not held up
                pass
            return
        try:
            async for heard in self.recognizer.recognize(audio(), self.sample_rate_hz, self.language):
                transcript = gw.Transcript(text=heard.text, is_final=heard.is_final, confidence=heard.confidence)
                await self.send(gw.ServerMessage(utterance_id=utterance_id, transcript=transcript))
                if not heard.is_final:
                    continue
                finals += 1
                ended = audio_end or stage("audio_end")
                if heard.text:
                    await self.submit(heard.text, utterance_id, trace, ended, heard.confidence)
                else:
                    await self.send(gw.ServerMessage(utterance_id=utterance_id, error=nothing_heard))
                utterance_id = uuid.uuid4().hex  # the ASR's endpointer may cut more utterances
            if not finals:
                # The stream ended without a final (speech the recogniser made nothing of): the
                # client is still owed an answer for its utterance, or it waits forever.
                await self.send(gw.ServerMessage(utterance_id=utterance_id, error=nothing_heard))
        except grpc.aio.AioRpcError as exc:
            # Bad audio (INVALID_ARGUMENT), a busy ASR (RESOURCE_EXHAUSTED): the client is told,
            # the session goes on.
            log.get().info("asr refused the stream", code=exc.code().name, details=exc.details())
            await self.send(
                gw.ServerMessage(
                    utterance_id=utterance_id, error=gw.Error(code=exc.code().name, message=exc.details() or "")
                )
            )
