"""The decoding processes behind one server: a crash costs only the streams pinned to the dead one."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest

from services.asr.engines import whisper
from tests.asr.conftest import BASE_ENV, say
from tests.asr.support import chunks, client, decoding_options, finals, stream, streaming_config
from tests.support.processes import ServiceProcess, cpu_seconds, wait_serving

if TYPE_CHECKING:
    from services.asr.engines.decoder_pool import DecoderPool
    from services.asr.engines.sphinx import Transcript

pytestmark = pytest.mark.e2e


def children(server_pid: int, name: str) -> list[int]:
    """The server's child processes by the name they give themselves (/proc/PID/comm)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if ppid == server_pid and comm == name:
            pids.append(int(entry.name))
    return pids


def decoding_processes(server_pid: int) -> list[int]:
    from services.asr.engines.sphinx import DECODING_PROCESS_NAME

    return children(server_pid, DECODING_PROCESS_NAME)


def fallback_processes(server_pid: int) -> list[int]:
    from services.asr.engines.sphinx import FALLBACK_PROCESS_NAME

    return children(server_pid, FALLBACK_PROCESS_NAME)


def test_a_dead_decoding_process_fails_only_its_streams_and_is_replaced(tmp_path: Path, spoken_dir: Path) -> None:
    env = {**BASE_ENV, "ASR_DECODE_WORKERS": "2", "ASR_MAX_STREAMS": "4"}
    proc = ServiceProcess("asr", env, tmp_path).start()
    try:
        assert proc.proc is not None
        workers = decoding_processes(proc.proc.pid)
        assert len(workers) == 2
        text = "set the price of product a one hundred to fifty dollars"
        audio = list(chunks(say(text, spoken_dir)))
        mid_speech = threading.Barrier(3)
        killed = threading.Event()

        def held_audio() -> Iterator[bytes]:
            yield from audio[:10]  # 1 s: the speech began at 0.3 s, so both streams are decoding
            mid_speech.wait(10)
            killed.wait(10)
            yield from audio[10:]

        outcomes: list[object] = [None, None]

        def run(i: int) -> None:
            try:
                outcomes[i] = finals(stream(client(proc.address), held_audio(), streaming_config()))
            except grpc.RpcError as exc:
                outcomes[i] = exc

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        mid_speech.wait(10)
        time.sleep(0.5)  # the server has read and decoded the first second of both
        os.kill(workers[0], signal.SIGKILL)
        killed.set()
        for t in threads:
            t.join(20)

        errors = [o for o in outcomes if isinstance(o, grpc.RpcError)]
        assert len(errors) == 1, outcomes  # the streams were pinned to different processes
        assert errors[0].code() == grpc.StatusCode.UNAVAILABLE
        assert "decoding process serving this stream stopped unexpectedly" in errors[0].details()
        assert [o for o in outcomes if not isinstance(o, grpc.RpcError)] == [text]

        # the server stayed up, a new stream is served, and the dead process was replaced
        wait_serving(proc.address, timeout=2)
        assert finals(stream(client(proc.address), chunks(say("undo that", spoken_dir)), streaming_config())) == (
            "undo that"
        )
        replaced = decoding_processes(proc.proc.pid)
        assert len(replaced) == 2 and workers[0] not in replaced and workers[1] in replaced
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _alive(pid)


def test_new_vocabulary_gets_new_processes_and_the_old_ones_finish_their_streams() -> None:
    from services.asr.engines import sphinx
    from services.asr.engines.decoder_pool import DecoderPool
    from services.asr.vocabulary import DEMO_VOCABULARY, Vocabulary

    options = decoding_options()

    async def scenario() -> None:
        pool = DecoderPool(options, workers=1)
        try:
            pool.wait_ready(60)
            old = pool.open(sphinx.GRAMMAR_MODEL)
            old_pid = await pool.call(old.process, sphinx.ready)
            await old.start(0)
            pool.set_vocabulary(Vocabulary(products=(*DEMO_VOCABULARY.products, ("F9", "green hat")), revision=2))
            assert pool.next_generation is not None
            await pool.next_generation[0]  # built beside the old process, then swapped in
            new = pool.open(sphinx.GRAMMAR_MODEL)
            new_pid = await pool.call(new.process, sphinx.ready)
            assert new_pid != old_pid
            # the old stream still decodes on its old process, which ends with its last stream
            assert await old.feed(b"\0" * 3200, True) == ""
            assert _alive(old_pid)
            old.close()
            assert _gone_within(old_pid, 10)
            new.close()
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_vocabularies_that_come_during_a_build_wait_and_only_the_newest_is_built() -> None:
    """A bulk import is a new vocabulary every few seconds: one generation builds at a time, and of
    those that came meanwhile only the last is built (each built at once, they all ran together and
    starved the streams' decoding)."""
    from services.asr.engines import sphinx
    from services.asr.engines.decoder_pool import DecoderPool
    from services.asr.vocabulary import DEMO_VOCABULARY, Vocabulary

    def with_hats(n: int) -> Vocabulary:
        hats = tuple((f"H{i}", f"hat number {i}") for i in range(1, n + 1))
        return Vocabulary(products=(*DEMO_VOCABULARY.products, *hats), revision=n)

    async def scenario() -> None:
        pool = DecoderPool(decoding_options(), workers=1)
        try:
            pool.wait_ready(60)
            pool.set_vocabulary(with_hats(1))
            assert pool.next_generation is not None
            building = pool.next_generation
            for n in (2, 3, 4):  # while the first builds
                pool.set_vocabulary(with_hats(n))
            assert pool.next_generation is building  # nothing else started
            await building[0]
            assert pool.options.vocabulary == with_hats(1)
            assert pool.next_generation is not None and pool.next_generation is not building  # the newest
            await pool.next_generation[0]
            assert pool.options.vocabulary == with_hats(4)
            assert pool.next_generation is None and pool.pending is None  # 2 and 3 were never built
            stream = pool.open(sphinx.GRAMMAR_MODEL)
            await stream.start(0)
            assert await stream.feed(b"\0" * 3200, True) == ""
            stream.close()
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_decoding_processes_exit_when_the_server_is_killed_outright(tmp_path: Path) -> None:
    proc = ServiceProcess("asr", {**BASE_ENV, "ASR_DECODE_WORKERS": "2", "ASR_MAX_STREAMS": "2"}, tmp_path).start()
    assert proc.proc is not None
    pid = proc.proc.pid
    # The fallback process runs where the open-vocabulary engine is on: faster-whisper and its
    # weights installed (`make models`, which a fresh machine's `make test` runs before).
    fallback = int(whisper.available() and bool(whisper.open_vocabulary_path()))
    # The server is serving once its decoding processes are built; the fallback process is spawned
    # beside them and names itself only when its interpreter is up (later on a busy machine).
    deadline = time.monotonic() + 30
    while len(fallback_processes(pid)) < fallback and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(decoding_processes(pid)) == 2
    assert len(fallback_processes(pid)) == fallback
    workers = decoding_processes(pid) + fallback_processes(pid)
    proc.kill()  # SIGKILL: no shutdown runs in the server
    assert all(_gone_within(pid, 10) for pid in workers)


def _busy_within(pid: int, seconds: float) -> bool:
    """Whether the process spends 0.1 s of CPU within `seconds` from now."""
    start, deadline = cpu_seconds(pid), time.monotonic() + seconds
    while cpu_seconds(pid) < start + 0.1:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


FREE_SPEECH = "the weather was lovely this morning so we walked to the river and back"


async def _utterance(pool: DecoderPool, audio: bytes) -> Transcript | None:
    """One utterance on a new grammar stream of the pool: its transcript (after any fallback)."""
    from services.asr.engines import sphinx

    stream = pool.open(sphinx.GRAMMAR_MODEL)
    try:
        await stream.start(0)
        return await stream.end(audio)
    finally:
        stream.close()


def test_speech_outside_the_grammar_is_decoded_in_the_fallback_process_without_holding_other_streams(
    spoken_dir: Path,
) -> None:
    """The language-model decode of an utterance takes the whole utterance at once; it runs in the
    fallback process, so a stream on the same decoding process is decoded meanwhile. Killed, the
    fallback process costs no stream: the utterance keeps the grammar's answer, and a new one starts."""
    from services.asr.engines import sphinx
    from services.asr.engines.decoder_pool import DecoderPool

    # every grammar answer is below confidence 1: every utterance falls back
    # The fallback process without a whisper model: the language model (open_vocabulary with no path)
    options = decoding_options(fallback_confidence=1.0, decoders=2, open_vocabulary=True)
    free_speech = say(FREE_SPEECH, spoken_dir)
    command = say("undo that", spoken_dir)

    async def scenario() -> None:
        pool = DecoderPool(options, workers=1)
        try:
            pool.wait_ready(60)
            assert pool.fallback is not None
            fallback_pid = pool.fallback.ready.result(60)
            assert os.getpid() not in (fallback_pid, pool.processes[0].ready.result())

            # a long fallback decode, and meanwhile a second stream on the same decoding process
            long_one = asyncio.ensure_future(_utterance(pool, free_speech * 3))
            other = pool.open(sphinx.GRAMMAR_MODEL)
            await other.start(0)
            # the long utterance is being decoded in the fallback process
            assert await asyncio.to_thread(_busy_within, fallback_pid, 10)
            for i in range(0, len(command), 3200):
                await other.feed(command[i : i + 3200], True)
            assert not long_one.done()  # the second stream's audio was decoded while the fallback ran
            assert (await other.end(b"")) is not None
            other.close()
            transcript = await long_one
            assert transcript is not None and transcript.model == sphinx.GENERIC_MODEL
            assert {"weather", "morning", "river"} & set(transcript.text.split()), transcript.text
            assert transcript.fallback is None  # the audio does not travel further

            os.kill(fallback_pid, signal.SIGKILL)
            assert _gone_within(fallback_pid, 10)
            kept = await _utterance(pool, command)  # the fallback may be dead: then the grammar's answer
            assert kept is not None and kept.text
            again = await _utterance(pool, free_speech)
            assert again is not None and again.model == sphinx.GENERIC_MODEL
            assert pool.fallback is not None
            new_pid = pool.fallback.ready.result()
            assert new_pid != fallback_pid
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_an_utterance_that_waited_too_long_for_the_fallback_keeps_the_grammar_s_answer(spoken_dir: Path) -> None:
    """One fallback process serves every stream: behind a long decode, what waited longer than
    ASR_OPEN_VOCABULARY_MAX_WAIT_S is not decoded there (the queue drains instead of every speaker
    waiting), and it is counted; the utterance at the head of the queue is decoded as ever."""
    from services.asr.engines import sphinx
    from services.asr.engines.decoder_pool import SHED, DecoderPool

    options = decoding_options(fallback_confidence=1.0, decoders=2, open_vocabulary=True)
    free_speech = say(FREE_SPEECH, spoken_dir)

    async def scenario() -> None:
        pool = DecoderPool(options, workers=1, fallback_max_wait_s=0.3)
        try:
            pool.wait_ready(60)
            assert pool.fallback is not None
            fallback_pid = pool.fallback.ready.result(60)
            long_one = asyncio.ensure_future(_utterance(pool, free_speech * 3))
            assert await asyncio.to_thread(_busy_within, fallback_pid, 10)  # the long decode has started
            skipped_before = SHED._value.get()
            behind = await _utterance(pool, free_speech)
            assert behind is not None and behind.model == sphinx.GRAMMAR_MODEL and behind.fallback is None
            assert SHED._value.get() == skipped_before + 1
            first = await long_one
            assert first is not None and first.model == sphinx.GENERIC_MODEL and first.text
        finally:
            await pool.close()

    asyncio.run(scenario())
