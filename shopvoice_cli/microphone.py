"""Recorded speech replayed the way a live microphone sends it.

A microphone client (a Riva client, a phone app) hands over each chunk once it has
been recorded: chunk k leaves chunk_ms after chunk k-1, on a fixed schedule. After
the speech it does not stop: the room goes on being recorded, so silence keeps
flowing until the client has its answer. The moment the last chunk holding speech
is handed over is the end of speech, where the user's wait for a result begins
(the speech itself ended somewhere inside that chunk, so this start is at most one
chunk late: the figures it gives err on the kind side by at most chunk_ms).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

# Below this (about -40 dBFS) a sample is taken as silence when trimming the clip's tail.
SPEECH_LEVEL = 300


def speech_length(pcm: bytes, level: int = SPEECH_LEVEL) -> int:
    """Bytes of 16-bit PCM up to and including the last sample louder than `level`."""
    import numpy as np

    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > level)
    return 0 if not len(loud) else (int(loud[-1]) + 1) * 2


class LiveMicrophone:
    """One utterance: its speech chunks at real-time pace, then silence until `stop` is set."""

    def __init__(self, pcm: bytes, sample_rate_hz: int = 16_000, chunk_ms: int = 100) -> None:
        self.chunk_ms = chunk_ms
        self.chunk_bytes = max(2, sample_rate_hz * chunk_ms // 1000 * 2)
        # Trailing silence in the recording is dropped: the live silence after it stands in.
        speech = pcm[: speech_length(pcm)] or pcm
        self.chunks_of_speech = -(-len(speech) // self.chunk_bytes)
        padded = speech.ljust(self.chunks_of_speech * self.chunk_bytes, b"\x00")
        self.speech = [padded[i : i + self.chunk_bytes] for i in range(0, len(padded), self.chunk_bytes)]
        self.silence = bytes(self.chunk_bytes)
        self.speech_end_ns = 0  # wall clock: the last speech chunk handed over
        self.silence_chunks = 0

    @property
    def speech_s(self) -> float:
        return self.chunks_of_speech * self.chunk_ms / 1000

    async def chunks(self, stop: asyncio.Event) -> AsyncIterator[bytes]:
        """Each chunk when its audio has been 'recorded'; silence after the speech until `stop`."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        index = 0
        while index < len(self.speech) or not stop.is_set():
            index += 1
            # A fixed schedule, not sleep(chunk_ms) in a loop: a busy event loop must not
            # stretch the audio (that would slow the speaker down, not load the server).
            delay = started + index * self.chunk_ms / 1000 - loop.time()
            if delay > 0:
                if index > len(self.speech):
                    # In the silence: an answer ends the utterance at once, not a chunk later.
                    try:
                        await asyncio.wait_for(stop.wait(), delay)
                        return
                    except TimeoutError:
                        pass
                else:
                    await asyncio.sleep(delay)
            if index <= len(self.speech):
                if index == len(self.speech):
                    self.speech_end_ns = time.time_ns()
                yield self.speech[index - 1]
            else:
                self.silence_chunks += 1
                yield self.silence
