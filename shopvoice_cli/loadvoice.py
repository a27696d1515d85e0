"""The spoken workload of `shopvoice loadtest --mode voice`, and the ASR-alone peer.

A set of distinct commands is synthesised once at start (espeak-ng over several
voices and speeds, as services/asr/testset.py does for the accuracy tests); each
turn sends one of them through the gateway as a live microphone would
(microphone.py): its speech at real-time pace in chunk_ms chunks, then silence
until the result arrives. Its latency runs from the end of speech to the result.

The commands are ones the shop carries out at once: stock and product queries and
stock additions and settings to a non-zero quantity. Price changes are left out on
purpose, since a change over NLU_CONFIRM_PRICE_CHANGE_PCT asks for a confirmation,
a second turn, and prices drift under concurrent sessions so which ones would ask
is not predictable. A confirmation that comes anyway (a misheard "zero") is
counted as its own status, CONFIRMATION, and left unanswered: the session's next
command drops it.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.loadreport import VOICE_LEGS, Report, Sample
from shopvoice_cli.microphone import LiveMicrophone

RATE = 16_000
DEFAULT_VOICES = ("en-us", "en-gb", "en-us+f3", "en-us+m3")
CHUNK_MS_RANGE = (20, 1000)


class VoiceSetupError(ValueError):
    """The spoken workload cannot be built as asked: says why."""


@dataclass(frozen=True)
class Clip:
    """One spoken command: the words said, the voice, and its 16 kHz 16-bit mono PCM."""

    text: str
    voice: str
    pcm: bytes


def _phrasings() -> tuple[Callable[[random.Random, str], str], ...]:
    from services.asr.numbers import say_number

    return (
        lambda r, sku: f"how many {sku} are in stock",
        lambda r, sku: f"is {sku} in stock",
        lambda r, sku: f"show product {sku}",
        lambda r, sku: f"add {say_number(r.randint(1, 40))} units of {sku}",
        lambda r, sku: f"set the stock of {sku} to {say_number(r.randint(20, 300))}",
    )


def command_texts(skus: Sequence[str], count: int, seed: int = 7) -> list[str]:
    """`count` distinct commands (as far as the phrasings and SKUs allow), as spoken words."""
    from services.asr.numbers import say_sku

    phrasings = _phrasings()
    rng = random.Random(seed)
    spoken_skus = [say_sku(sku) for sku in skus]
    return [
        phrasings[i % len(phrasings)](rng, spoken_skus[(i // len(phrasings)) % len(spoken_skus)]) for i in range(count)
    ]


def synthesise(skus: Sequence[str], count: int, voices: Sequence[str], seed: int = 7) -> list[Clip]:
    """The clips, voice i % len(voices) for command i, speeds 150-180 words a minute."""
    from services.asr import testset

    try:
        testset.require_tools()
    except RuntimeError as exc:
        raise VoiceSetupError(f"--mode voice synthesises its commands: {exc}") from None
    rng = random.Random(seed)
    clips = []
    with tempfile.TemporaryDirectory(prefix="shopvoice-load-") as tmp:
        for i, text in enumerate(command_texts(skus, count, seed)):
            voice = voices[i % len(voices)]
            try:
                samples = testset.speak(text, voice, rng.randrange(150, 181, 10), 50, Path(tmp))
            except subprocess.CalledProcessError as exc:
                detail = (exc.stderr or b"").decode(errors="replace").strip()
                raise VoiceSetupError(
                    f"espeak-ng could not speak with voice {voice!r} ({detail or exc}); `espeak-ng --voices` lists them"
                ) from None
            clips.append(Clip(text, voice, samples.astype("<i2").tobytes()))
    return clips


def check_options(count: int, voices: Sequence[str], chunk_ms: int) -> None:
    if count < 1:
        raise VoiceSetupError(f"--clips must be at least 1 (got {count})")
    if not voices:
        raise VoiceSetupError("--voices names no voice; give espeak-ng voices such as en-us,en-gb")
    low, high = CHUNK_MS_RANGE
    if not low <= chunk_ms <= high:
        raise VoiceSetupError(f"--chunk-ms must be {low}-{high} ms (Riva clients send about 100), got {chunk_ms}")


@dataclass
class SpokenCommands:
    """Each turn says clip index % len(clips) through the gateway, live."""

    clips: Sequence[Clip]
    chunk_ms: int = 100
    leg_spec = VOICE_LEGS
    latency_label = "end of speech → result"

    @property
    def name(self) -> str:
        voices = len({c.voice for c in self.clips})
        return f"voice: {len(self.clips)} commands, {voices} voices, real-time {self.chunk_ms} ms chunks"

    async def turn(self, conversation: Conversation, index: int) -> Turn:
        clip = self.clips[index % len(self.clips)]
        return await conversation.speak_live(clip.pcm, self.chunk_ms, text=clip.text)


async def asr_alone(
    address: str,
    clips: Sequence[Clip],
    concurrency: int,
    duration_s: float,
    chunk_ms: int = 100,
    timeout_s: float = 10.0,
    skip_first: int = -1,
) -> Report:
    """The peer: the same clips sent straight to the ASR with the gateway's own Riva client
    code (services/gateway/speech.py), live; latency from end of speech to the final transcript.
    The first round (skip_first, default one per session) is left out, as the load test's
    --skip-first does: all sessions start at once, so their first utterances end together."""
    skip_first = concurrency if skip_first < 0 else skip_first
    from services.gateway.speech import SpeechRecognizer

    report = Report(
        workload="ASR alone", concurrency=concurrency, rate_limit=0, leg_spec=(), latency_label="end of speech → final"
    )
    tickets = iter(range(1 << 30))
    started = time.perf_counter()
    report.started_at = time.time()

    async def worker(recognizer: SpeechRecognizer) -> None:
        while time.perf_counter() - started < duration_s:
            ticket = next(tickets)
            clip = clips[ticket % len(clips)]
            microphone, heard = LiveMicrophone(clip.pcm, RATE, chunk_ms), asyncio.Event()
            status, final = "NO_FINAL", ""
            try:
                async with asyncio.timeout(timeout_s + microphone.speech_s):
                    async for result in recognizer.recognize(microphone.chunks(heard), RATE, "en-US"):
                        if result.is_final and not heard.is_set():
                            received = time.time_ns()
                            status, final = "FINAL", result.text
                            heard.set()  # the microphone stops; the stream then ends
            except grpc.aio.AioRpcError as exc:
                report.add_error(exc.code().name, exc.details() or "")
                continue
            except TimeoutError:
                report.add_error("TIMEOUT", f"no final transcript within {timeout_s:g} s of the end of speech")
                continue
            if ticket < skip_first:
                continue
            if status == "FINAL":
                latency = (received - microphone.speech_end_ns) / 1e9
                report.add(
                    Sample(latency, status, microphone.speech_end_ns, received, [], heard_as_said=final == clip.text)
                )
            else:
                report.add_error(status, "the stream ended without a final transcript")

    async with grpc.aio.insecure_channel(address) as channel:
        recognizer = SpeechRecognizer(channel, stream_timeout_s=60)
        await asyncio.gather(*(worker(recognizer) for _ in range(concurrency)))
    report.total_s = time.perf_counter() - started
    return report
