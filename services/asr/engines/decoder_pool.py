"""Decoding processes owned by the ASR server: decoding on every core, and a crash costs only its streams.

pocketsphinx's Python binding holds the GIL while it decodes (measured: two threads
decode no faster than one), and a final hypothesis costs 30-200 ms of lattice
search in C. In one process every stream would queue behind every other's. So the
server keeps gRPC, validation and endpointing in its own process, and decodes in
ASR_DECODE_WORKERS child processes, each holding its own decoders. To callers it
is still one server: one port, one health status, one ASR_MAX_STREAMS budget.

A stream is pinned for its life to one process (its decoder keeps search state
between chunks), the least loaded when it opens. Each process is a one-worker
ProcessPoolExecutor: calls run in the order they were sent, and when the process
dies the calls in flight fail with BrokenProcessPool; its streams then end with
UNAVAILABLE and the process is replaced. New vocabulary builds a new generation
of processes beside the old, one generation at a time (what comes meanwhile waits, the
newest only); once it is ready new streams go to it, and each old process shuts down
when its last stream ends.

Beside them runs one fallback process: an utterance the grammar has no good answer
for goes there to be decoded again with the language model (sphinx.decode_free_speech).
That decode takes the whole utterance at once (0.6-0.8 s of CPU for 5 s of speech);
in the decoding process, every stream pinned there would wait that long for its next
chunk to be decoded, and their finals with it. The fallback process serves every
generation (the language model does not change with the vocabulary); when it dies,
the utterance keeps the grammar's answer and the next fallback starts a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any, TypeVar

import grpc
from prometheus_client import Counter

from services.asr.engines import sphinx
from services.asr.engines.sphinx import DecodingOptions, Transcript
from services.asr.phrase_end import EarlyEnd
from services.asr.vocabulary import Vocabulary
from shopvoice import log
from shopvoice.errors import DomainError

T = TypeVar("T")

SHED = Counter(
    "sv_asr_open_vocabulary_skipped_total",
    "Utterances not decoded by the open-vocabulary engine: they waited past ASR_OPEN_VOCABULARY_MAX_WAIT_S",
)

# Decoders a generation built for a new vocabulary makes up front (each process); more as streams need them.
REBUILT_DECODERS = 4

# spawn, not fork: a fork of a process running gRPC's threads can deadlock in the child.
_SPAWN = multiprocessing.get_context("spawn")


class DecoderLost(DomainError):
    """The decoding process of a stream died mid-stream."""

    code = grpc.StatusCode.UNAVAILABLE


class DecodingProcess:
    """One child process with its own decoders; starts building them at once (initializer:
    sphinx.serve for a decoding process, sphinx.serve_fallback for the fallback process)."""

    def __init__(self, initializer: Callable[..., None], *initargs: object) -> None:
        self.executor = ProcessPoolExecutor(1, mp_context=_SPAWN, initializer=initializer, initargs=initargs)
        self.ready = self.executor.submit(sphinx.ready)  # the pid, once the decoders are built
        self.streams = 0
        self.broken = False
        self.retired = False

    def alive(self) -> bool:
        """False once it is known dead: a call failed, or its pid is gone (so a new stream is not
        pinned to a process that died between streams)."""
        if self.broken or not self.ready.done():
            return not self.broken
        try:
            os.kill(self.ready.result(), 0)
        except (ProcessLookupError, BrokenProcessPool):
            self.broken = True
        return not self.broken

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class DecoderPool:
    """The server's decoding processes and which stream is pinned where."""

    def __init__(
        self,
        options: DecodingOptions,
        workers: int,
        whisper_path: str = "",
        whisper_threads: int = 2,
        fallback_max_wait_s: float = 0.0,
    ) -> None:
        self.options = options
        self.fallback_max_wait_s = fallback_max_wait_s
        self.processes = [DecodingProcess(sphinx.serve, options) for _ in range(workers)]
        # The open-vocabulary engine (whisper) when its model is there; without it, no fallback process:
        # the grammar alone, and what it rejects is no command.
        self.fallback_args = (whisper_path, whisper_threads)
        self.fallback: DecodingProcess | None = (
            DecodingProcess(sphinx.serve_fallback, *self.fallback_args) if options.open_vocabulary else None
        )
        self.ids = itertools.count(1)
        self.next_generation: tuple[asyncio.Task[None], list[DecodingProcess]] | None = None
        self.pending: Vocabulary | None = None  # the newest vocabulary that came while a generation built
        self.logger = log.get().bind(component="decoder-pool")

    def wait_ready(self, timeout_s: float) -> list[int]:
        """Block until every decoding process has built its decoders (at start, so a broken grammar fails
        the start); their pids."""
        # Not the fallback process: whisper loads meanwhile (a few seconds), and an utterance rejected
        # before it is ready waits in its queue; the grammar streams need not wait for it.
        return [p.ready.result(timeout_s) for p in self.processes]

    @property
    def _fallbacks(self) -> list[DecodingProcess]:
        return [self.fallback] if self.fallback is not None else []

    def open(self, model: str, boosted: tuple[str, ...] = (), alternatives: int = 1) -> DecoderStream:
        for i, process in enumerate(self.processes):
            if not process.alive():
                self.logger.warning("decoding process died; starting a new one", index=i)
                self.processes[i] = DecodingProcess(sphinx.serve, self.options)
        process = min(self.processes, key=lambda p: p.streams)
        process.streams += 1
        return DecoderStream(self, process, next(self.ids), model, boosted, alternatives)

    def release(self, process: DecodingProcess) -> None:
        process.streams -= 1
        if process.streams == 0 and (process.retired or process.broken):
            process.shutdown()

    async def call(self, process: DecodingProcess, fn: Callable[..., T], *args: Any) -> T:
        try:
            return await asyncio.wrap_future(process.executor.submit(fn, *args))
        except BrokenProcessPool:
            process.broken = True
            raise DecoderLost(
                "the decoding process serving this stream stopped unexpectedly and is being replaced; "
                "send the utterance again on a new stream"
            ) from None

    async def fall_back(self, transcript: Transcript) -> Transcript:
        """The language model's transcript of an utterance the grammar had no good answer for
        (transcript.fallback); the grammar's own when that one is empty, or the fallback process died."""
        speech = transcript.fallback
        if speech is None or self.fallback is None:
            return replace(transcript, fallback=None)
        grammar = replace(transcript, fallback=None)
        if not self.fallback.alive():
            self.logger.warning("fallback process died; starting a new one")
            self.fallback = DecodingProcess(sphinx.serve_fallback, *self.fallback_args)
        process = self.fallback
        if self.fallback_max_wait_s > 0:
            speech = replace(speech, start_by=time.monotonic() + self.fallback_max_wait_s)
        try:
            generic = await asyncio.wrap_future(process.executor.submit(sphinx.decode_free_speech, speech))
        except BrokenProcessPool:
            process.broken = True
            self.logger.warning("fallback process died mid-decode; the utterance keeps the grammar's transcript")
            return grammar
        if generic is None:
            # One fallback process serves every stream; when more is rejected than it decodes (a busy
            # machine, a noisy room), its queue, and every speaker's wait, would grow without bound
            # (the voice bench saw turns of over 10 s). What waited too long keeps the grammar's
            # answer (none, for a rejection: "didn't catch that") and the queue drains.
            SHED.inc()
            self.logger.warning(
                "open-vocabulary decode skipped: it waited too long", max_wait_s=self.fallback_max_wait_s
            )
            return grammar
        return generic if generic.text else grammar

    def set_vocabulary(self, vocabulary: Vocabulary) -> None:
        """Build a generation of processes for the new grammar; swap it in once it is ready.

        One generation is built at a time. A vocabulary that comes while one is building waits, and
        only the newest waiting one is built next: a process cannot be stopped in the middle of its
        build (ProcessPoolExecutor's shutdown waits for its initializer), and during a bulk import,
        generations started every few seconds all built at once, each took 80 s instead of 1, and the
        decoding of every stream starved (voice bench, 5,000 products: p95 35 s)."""
        if self.next_generation is not None:
            self.pending = vocabulary
            return
        self.pending = None
        # The first generation makes a decoder per stream slot up front (~170 ms of CPU each); a new
        # one makes a few and the rest as streams come: 16 per process at every catalog change was
        # seconds of CPU per build, taken from the streams being decoded meanwhile.
        options = replace(self.options, vocabulary=vocabulary, decoders=min(self.options.decoders, REBUILT_DECODERS))
        generation = [DecodingProcess(sphinx.serve, options) for _ in self.processes]
        task = asyncio.get_running_loop().create_task(self._swap_when_ready(options, generation))
        self.next_generation = (task, generation)

    async def _swap_when_ready(self, options: DecodingOptions, generation: list[DecodingProcess]) -> None:
        try:
            await asyncio.gather(*(asyncio.wrap_future(p.ready) for p in generation))
        except asyncio.CancelledError:
            raise
        except Exception:
            self.logger.exception("decoders for the new vocabulary failed to build; keeping the current ones")
            for p in generation:
                p.shutdown()
        else:
            old, self.processes, self.options = self.processes, generation, options
            self.logger.info("new vocabulary serving", products=len(options.vocabulary.products))
            for p in old:
                p.retired = True
                if p.streams == 0:
                    p.shutdown()
        self.next_generation = None
        if self.pending is not None:  # what came while this one was building
            self.set_vocabulary(self.pending)

    async def close(self) -> None:
        if self.next_generation is not None:
            self.next_generation[0].cancel()
            self.processes += self.next_generation[1]
        for p in [*self.processes, *self._fallbacks]:
            p.shutdown()


class DecoderStream:
    """One gRPC stream's decoder, in the process it is pinned to. Close it exactly once."""

    def __init__(
        self,
        pool: DecoderPool,
        process: DecodingProcess,
        stream_id: int,
        model: str,
        boosted: tuple[str, ...] = (),
        alternatives: int = 1,
    ) -> None:
        self.boosted = boosted
        self.alternatives = alternatives
        self.pool = pool
        self.process = process
        self.id = stream_id
        self.model = model
        self.closed = False

    async def start(self, offset_ms: int) -> None:
        await self.pool.call(
            self.process, sphinx.start, self.id, self.model, offset_ms, self.boosted, self.alternatives
        )

    async def feed(self, audio: bytes, partial: bool) -> str | None:
        return await self.pool.call(self.process, sphinx.feed, self.id, audio, partial)

    async def end(self, audio: bytes, only_if: EarlyEnd | None = None, padding: bytes = b"") -> Transcript | None:
        """The transcript, or None when only_if is given and the words so far are not such a phrase
        (see DecoderHost.end); only_if is a plain str, so it pickles to the decoding process."""
        transcript = await self.pool.call(self.process, sphinx.end, self.id, audio, only_if, padding)
        return await self.pool.fall_back(transcript) if transcript is not None else None

    def close(self) -> None:
        """Give the decoder back (without waiting: nothing the caller needs comes back)."""
        if self.closed:
            return
        self.closed = True
        if not self.process.broken:
            # died, or shut down, meanwhile: then there is nothing to give back
            with contextlib.suppress(BrokenProcessPool, RuntimeError):
                self.process.executor.submit(sphinx.close, self.id)
        self.pool.release(self.process)
