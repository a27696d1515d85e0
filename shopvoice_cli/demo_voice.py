"""The demo conversation: the merchant speaks (espeak-ng's voice, streamed through the
gateway and the ASR at real-time pace) and types the Chinese lines (the CPU ASR engine
is English; a Riva upstream serves zh-CN)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shopvoice_cli import render
from shopvoice_cli.client import Conversation
from shopvoice_cli.speak import read_wav

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class Line:
    text: str
    spoken: bool  # said aloud (synthesised), else typed


# {order} is the order a customer placed just before; {order_words} the same read digit by digit.
LINES = (
    Line("查一下红色T恤", spoken=False),
    Line("set the price of A one hundred to ninety nine dollars", spoken=True),
    Line("yes", spoken=True),  # a spoken change is read back with the heard values first
    Line("把B200的价格改成一百八十九块", spoken=False),
    Line("how many A one hundred are in stock", spoken=True),
    Line("what is the status of order {order_words}", spoken=True),
    # Typed: spoken, the two words "ship it" are below the ASR's rejection threshold for short
    # phrases today (docs/asr.md), and the demo shows the dialogue's "it" here.
    Line("ship it", spoken=False),
    Line("what are today's sales", spoken=True),
    Line("refund order {order}", spoken=False),
    Line("yes confirm", spoken=True),
    Line("把A100的价格改成九块九", spoken=False),
    Line("no never mind", spoken=True),
)


def can_speak() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def synthesise(text: str, directory: Path, index: int) -> Path:
    """16 kHz 16-bit mono WAV of `text` in espeak-ng's en-US voice."""
    raw, wav = directory / f"{index}-raw.wav", directory / f"{index}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(wav)], check=True, capture_output=True)
    return wav


async def run(gateway: str, token: str, order_id: str, voice: bool) -> int:
    """Say every line; returns how many did not go well."""
    order_words = " ".join(DIGIT_WORDS[int(d)] for d in order_id)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="shopvoice-demo-") as tmp:
        async with Conversation(gateway, token, timeout_s=60) as conversation:
            for index, line in enumerate(LINES):
                text = line.text.format(order=order_id, order_words=order_words)

                def show(message: object) -> None:
                    # Interim transcripts would flood the terminal: only the final one.
                    kind = message.WhichOneof("kind")  # type: ignore[attr-defined]
                    if kind != "transcript" or message.transcript.is_final:  # type: ignore[attr-defined]
                        print(render.line(message), flush=True)  # type: ignore[arg-type]

                if line.spoken and voice:
                    print(f"merchant (speaking): {text}", flush=True)
                    recording = read_wav(synthesise(text, Path(tmp), index))
                    turn = await conversation.speak(recording.pcm, on_message=show)
                else:
                    print(f"merchant: {text}", flush=True)
                    turn = await conversation.say(text, on_message=show)
                failures += 0 if render.went_well(turn) else 1
    return failures
