"""A spoken test set built on the spot: commands with known transcripts, voiced by espeak-ng.

Commands are drawn (seeded, so every run hears the same ones) from natural
phrasings of every intent, with SKUs, prices, quantities and order numbers
varied. Each is spoken with one of several voices, speeds and pitches, padded
with silence, and offered clean and with pink noise mixed in at a given SNR
(noise synthesised by sox, scaled against the utterance's own speech power).
Needs the espeak-ng and sox programs.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.asr.numbers import say_digits, say_number, say_sku

RATE = 16_000
VOICES = ("en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb-x-rp", "en-us+f2", "en-029", "en-us+m7")
SKUS = ("A100", "B200", "C7", "D42", "E15")
TITLES = ("red t-shirt", "blue jeans", "coffee mug", "phone case", "water bottle")
CARRIERS = ("s f", "y t o", "z t o", "e m s", "j d", "u p s", "fedex", "d h l")


@dataclass(frozen=True)
class Spoken:
    """One command: what was said, how, and its 16 kHz 16-bit mono samples."""

    text: str
    voice: str
    speed: int
    pitch: int
    samples: np.ndarray  # int16, with leading and trailing silence

    def with_noise(self, snr_db: float | None, noise: np.ndarray) -> bytes:
        """The samples with noise at snr_db (None = clean), as PCM bytes."""
        if snr_db is None:
            return self.samples.astype("<i2").tobytes()
        speech = self.samples.astype(np.float64)
        active = speech[np.abs(speech) > 0.05 * np.abs(speech).max()]
        speech_power = float(np.mean(active**2))
        n = noise[: len(speech)].astype(np.float64)
        scale = np.sqrt(speech_power / (np.mean(n**2) * 10 ** (snr_db / 10)))
        mixed = np.clip(speech + scale * n, -32768, 32767)
        pcm: bytes = mixed.astype("<i2").tobytes()
        return pcm


def _n(rng: random.Random, lo: int, hi: int) -> str:
    return say_number(rng.randint(lo, hi))


def _product(rng: random.Random) -> str:
    sku = say_sku(rng.choice(SKUS))
    return rng.choice([sku, f"product {sku}"])


def _order(rng: random.Random) -> str:
    return say_digits(str(rng.randint(100, 99999)))


_COMMANDS: tuple[Callable[[random.Random], str], ...] = (
    lambda r: f"set the price of {_product(r)} to {_n(r, 1, 999)} dollars",
    lambda r: f"set the price of {_product(r)} to {_n(r, 1, 500)}",
    lambda r: f"change the price of {_product(r)} to {_n(r, 5, 300)}",
    lambda r: f"lower {_product(r)} by {_n(r, 1, 50)}",
    lambda r: f"raise the price of {_product(r)} by {_n(r, 1, 30)} percent",
    lambda r: f"{_n(r, 5, 50)} percent off {_product(r)}",
    lambda r: f"set stock of {_product(r)} to {_n(r, 0, 900)}",
    lambda r: f"set the stock of {_product(r)} to {_n(r, 1, 200)}",
    lambda r: f"add {_n(r, 1, 100)} units of {_product(r)}",
    lambda r: f"remove {_n(r, 1, 20)} units of {_product(r)}",
    lambda r: f"how many {_product(r)} are in stock",
    lambda r: f"is {_product(r)} in stock",
    lambda r: f"show product {say_sku(r.choice(SKUS))}",
    lambda r: f"show me the {r.choice(TITLES).replace('-', ' ')}",
    lambda r: f"{r.choice(['list', 'unlist'])} {say_sku(r.choice(SKUS))}",
    lambda r: f"confirm order {_order(r)}",
    lambda r: f"ship order {_order(r)}",
    lambda r: f"ship order {_order(r)} via {r.choice(CARRIERS)}",
    lambda r: f"ship order {_order(r)} via s f tracking s f {say_digits(str(r.randint(100000, 999999)))}",
    lambda r: f"cancel order {_order(r)}",
    lambda r: f"refund order {_order(r)}",
    lambda r: f"refund {_n(r, 5, 90)} dollars on order {_order(r)}",
    lambda r: f"what's the status of order {_order(r)}",
    lambda r: f"where is my order {_order(r)}",
    lambda r: "how many orders are waiting to ship",
    lambda r: f"how many orders are {r.choice(['pending', 'shipped', 'refunded', 'cancelled'])}",
    lambda r: r.choice(["what are today's sales", "what are yesterday's sales"]),
    lambda r: f"top products {r.choice(['today', 'this week', 'this month', 'last month'])}",
    lambda r: f"what's the revenue {r.choice(['today', 'this week', 'this month'])}",
    lambda r: r.choice(["undo that", "undo the last change"]),
    lambda r: r.choice(["yes confirm", "yes", "confirm"]),
    lambda r: r.choice(["no never mind", "never mind", "cancel that"]),
)


def commands(count: int, seed: int = 7) -> list[str]:
    """`count` commands cycling through every phrasing, with seeded slot values."""
    rng = random.Random(seed)
    return [_COMMANDS[i % len(_COMMANDS)](rng) for i in range(count)]


def require_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not installed: apt-get install -y espeak-ng sox")


def speak(text: str, voice: str, speed: int, pitch: int, workdir: Path) -> np.ndarray:
    """espeak-ng to a WAV, sox to 16 kHz mono 16-bit, padded with 0.3 s before and 0.8 s after."""
    wav, raw = workdir / "say.wav", workdir / "say.raw"
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(wav), text],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            "sox",
            str(wav),
            "-r",
            str(RATE),
            "-b",
            "16",
            "-c",
            "1",
            "-e",
            "signed",
            "-t",
            "raw",
            str(raw),
            "pad",
            "0.3",
            "0.8",
        ],
        check=True,
        capture_output=True,
    )
    return np.frombuffer(raw.read_bytes(), dtype="<i2").copy()


def pink_noise(seconds: float, seed: int = 3) -> np.ndarray:
    """Pink noise from sox's synth, 16 kHz."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "noise.raw"
        subprocess.run(
            [
                "sox",
                "-R",
                "-n",
                "-r",
                str(RATE),
                "-b",
                "16",
                "-c",
                "1",
                "-e",
                "signed",
                "-t",
                "raw",
                str(out),
                "synth",
                f"{seconds:.1f}",
                "pinknoise",
                "vol",
                "0.5",
            ],
            check=True,
            capture_output=True,
        )
        noise = np.frombuffer(out.read_bytes(), dtype="<i2").copy()
    rng = np.random.default_rng(seed)
    return np.roll(noise, int(rng.integers(0, len(noise))))


def build(count: int, seed: int = 7) -> list[Spoken]:
    """The spoken set: `count` commands over the voices, speeds 140-190 wpm and pitches 35-65."""
    require_tools()
    rng = random.Random(seed)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(commands(count, seed)):
            voice = VOICES[i % len(VOICES)]
            speed, pitch = rng.randrange(140, 191, 10), rng.randrange(35, 66, 5)
            out.append(Spoken(text, voice, speed, pitch, speak(text, voice, speed, pitch, Path(tmp))))
    return out


def word_errors(reference: str, hypothesis: str) -> int:
    """Word-level edit distance (substitutions + insertions + deletions)."""
    ref, hyp = reference.split(), hypothesis.split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]
