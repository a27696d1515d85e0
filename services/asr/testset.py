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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from services.asr.numbers import say_digits, say_number, say_sku

RATE = 16_000
LEAD_S = 0.3  # silence before each command: the microphone opens, then the merchant speaks
VOICES = ("en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb-x-rp", "en-us+f2", "en-029", "en-us+m7")
SKUS = ("A100", "B200", "C7", "D42", "E15")
TITLES = ("red t-shirt", "blue jeans", "coffee mug", "phone case", "water bottle")


@dataclass(frozen=True)
class Spoken:
    """One command: what was said, how, and its 16 kHz 16-bit mono samples."""

    text: str
    voice: str
    speed: int
    pitch: int
    samples: np.ndarray  # int16, with leading and trailing silence
    command: Command | None = None  # the typed command it means

    def with_lead(self, seconds: float) -> Spoken:
        """The same command with `seconds` of silence before it instead of LEAD_S (at most LEAD_S):
        0 is a stream whose first sample is speech, as a recording cut at the first word."""
        cut = round((LEAD_S - min(seconds, LEAD_S)) * RATE)
        return replace(self, samples=self.samples[cut:])

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


SKU_OF_TITLE = dict(zip(TITLES, SKUS, strict=True))
# Carriers as a merchant spells them out, with the contract's code.
CARRIERS = {
    "s f": "SF",
    "y t o": "YTO",
    "z t o": "ZTO",
    "e m s": "EMS",
    "j d": "JD",
    "u p s": "UPS",
    "fedex": "FEDEX",
    "d h l": "DHL",
}


@dataclass(frozen=True)
class Command:
    """What is said and the typed command it means, in docs/design.md's JSON form
    (`command_to_json`: money "99.00", percents as signed strings, quantities as ints).
    Written here from the values drawn, never derived from the NLU, so the NLU is tested too."""

    text: str
    intent: str
    slots: Mapping[str, object]

    def as_json(self) -> dict[str, object]:
        return {"intent": self.intent, "slots": dict(self.slots)}


def _product(rng: random.Random) -> tuple[str, str]:
    """(spoken, sku)."""
    sku = rng.choice(SKUS)
    spoken = say_sku(sku)
    return rng.choice([spoken, f"product {spoken}"]), sku


# The order numbers commands say are drawn from 100..LAST_ORDER_ID: a shop with that many orders
# (the spoken-set test seeds them, so the ASR's bound on order numbers holds every one).
LAST_ORDER_ID = 99_999


def _order(rng: random.Random) -> tuple[str, str]:
    """(spoken digit by digit, order id)."""
    digits = str(rng.randint(100, LAST_ORDER_ID))
    return say_digits(digits), digits


def _money(n: int) -> str:
    return f"{n}.00"


def _set_price(r: random.Random, lo: int, hi: int, verb: str, unit: str) -> Command:
    (p, sku), n = _product(r), r.randint(lo, hi)
    return Command(f"{verb} the price of {p} to {say_number(n)}{unit}", "set_price", {"sku": sku, "price": _money(n)})


def _lower(r: random.Random) -> Command:
    (p, sku), n = _product(r), r.randint(1, 50)
    return Command(f"lower {p} by {say_number(n)}", "adjust_price", {"sku": sku, "delta": _money(-n)})


def _raise_percent(r: random.Random) -> Command:
    (p, sku), n = _product(r), r.randint(1, 30)
    return Command(
        f"raise the price of {p} by {say_number(n)} percent", "adjust_price", {"sku": sku, "percent": str(n)}
    )


def _percent_off(r: random.Random) -> Command:
    n = r.randint(5, 50)
    p, sku = _product(r)
    return Command(f"{say_number(n)} percent off {p}", "adjust_price", {"sku": sku, "percent": str(-n)})


def _set_stock(r: random.Random, lo: int, hi: int, the: str) -> Command:
    (p, sku), n = _product(r), r.randint(lo, hi)
    return Command(f"set {the}stock of {p} to {say_number(n)}", "set_stock", {"sku": sku, "quantity": n})


def _move_stock(r: random.Random, verb: str, hi: int) -> Command:
    n = r.randint(1, hi)
    p, sku = _product(r)
    delta = n if verb == "add" else -n
    return Command(f"{verb} {say_number(n)} units of {p}", "adjust_stock", {"sku": sku, "delta": delta})


def _about_product(r: random.Random, template: str, intent: str) -> Command:
    p, sku = _product(r)
    return Command(template.format(p), intent, {"sku": sku})


def _show_sku(r: random.Random) -> Command:
    sku = r.choice(SKUS)
    return Command(f"show product {say_sku(sku)}", "query_product", {"sku": sku})


def _show_title(r: random.Random) -> Command:
    title = r.choice(TITLES)
    return Command(f"show me the {title.replace('-', ' ')}", "query_product", {"sku": SKU_OF_TITLE[title]})


def _listing(r: random.Random) -> Command:
    verb, sku = r.choice(["list", "unlist"]), r.choice(SKUS)
    status = "active" if verb == "list" else "archived"  # unlist = archived (docs/design.md)
    return Command(f"{verb} {say_sku(sku)}", "set_product_status", {"sku": sku, "status": status})


def _order_command(r: random.Random, template: str, intent: str) -> Command:
    spoken, order_id = _order(r)
    return Command(template.format(spoken), intent, {"order_id": order_id})


def _ship_via(r: random.Random) -> Command:
    (spoken, order_id), carrier = _order(r), r.choice(list(CARRIERS))
    return Command(
        f"ship order {spoken} via {carrier}", "ship_order", {"order_id": order_id, "carrier": CARRIERS[carrier]}
    )


def _ship_tracking(r: random.Random) -> Command:
    (spoken, order_id), tracking = _order(r), str(r.randint(100000, 999999))
    return Command(
        f"ship order {spoken} via s f tracking s f {say_digits(tracking)}",
        "ship_order",
        {"order_id": order_id, "carrier": "SF", "tracking_number": f"SF{tracking}"},
    )


def _refund_amount(r: random.Random) -> Command:
    n = r.randint(5, 90)
    spoken, order_id = _order(r)
    return Command(
        f"refund {say_number(n)} dollars on order {spoken}", "refund_order", {"order_id": order_id, "amount": _money(n)}
    )


ORDER_STATUSES = {"pending": "pending", "shipped": "shipped", "refunded": "refunded", "cancelled": "cancelled"}
PERIODS = {"today": "today", "this week": "this_week", "this month": "this_month", "last month": "last_month"}


def _orders_in(r: random.Random) -> Command:
    said = r.choice(list(ORDER_STATUSES))
    return Command(f"how many orders are {said}", "list_orders", {"status": ORDER_STATUSES[said]})


def _sales(r: random.Random) -> Command:
    day = r.choice(["today", "yesterday"])
    return Command(f"what are {day}'s sales", "sales_report", {"metric": "revenue", "period": day})


def _top(r: random.Random) -> Command:
    said = r.choice(list(PERIODS))
    return Command(f"top products {said}", "sales_report", {"metric": "top_products", "period": PERIODS[said]})


def _revenue(r: random.Random) -> Command:
    said = r.choice(["today", "this week", "this month"])
    return Command(f"what's the revenue {said}", "sales_report", {"metric": "revenue", "period": PERIODS[said]})


def _fixed(choices: list[str], intent: str) -> Callable[[random.Random], Command]:
    return lambda r: Command(r.choice(choices), intent, {})


_COMMANDS: tuple[Callable[[random.Random], Command], ...] = (
    lambda r: _set_price(r, 1, 999, "set", " dollars"),
    lambda r: _set_price(r, 1, 500, "set", ""),
    lambda r: _set_price(r, 5, 300, "change", ""),
    _lower,
    _raise_percent,
    _percent_off,
    lambda r: _set_stock(r, 0, 900, ""),
    lambda r: _set_stock(r, 1, 200, "the "),
    lambda r: _move_stock(r, "add", 100),
    lambda r: _move_stock(r, "remove", 20),
    lambda r: _about_product(r, "how many {} are in stock", "query_stock"),
    lambda r: _about_product(r, "is {} in stock", "query_stock"),
    _show_sku,
    _show_title,
    _listing,
    lambda r: _order_command(r, "confirm order {}", "confirm_order"),
    lambda r: _order_command(r, "ship order {}", "ship_order"),
    _ship_via,
    _ship_tracking,
    lambda r: _order_command(r, "cancel order {}", "cancel_order"),
    lambda r: _order_command(r, "refund order {}", "refund_order"),
    _refund_amount,
    lambda r: _order_command(r, "what's the status of order {}", "query_order"),
    lambda r: _order_command(r, "where is my order {}", "query_order"),
    lambda r: Command("how many orders are waiting to ship", "list_orders", {"status": "unfulfilled"}),
    _orders_in,
    _sales,
    _top,
    _revenue,
    _fixed(["undo that", "undo the last change"], "undo"),
    _fixed(["yes confirm", "yes", "confirm"], "confirm"),
    _fixed(["no never mind", "never mind", "cancel that"], "cancel"),
)
PHRASINGS = len(_COMMANDS)


def typed_commands(count: int, seed: int = 7) -> list[Command]:
    """`count` commands cycling through every phrasing, with seeded slot values."""
    rng = random.Random(seed)
    return [_COMMANDS[i % PHRASINGS](rng) for i in range(count)]


def commands(count: int, seed: int = 7) -> list[str]:
    """The texts of `typed_commands`."""
    return [c.text for c in typed_commands(count, seed)]


def require_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} not installed: apt-get install -y espeak-ng sox")


# sox output options: what the ASR takes, 16 kHz mono signed 16-bit, headerless.
RAW_PCM = ("-r", str(RATE), "-b", "16", "-c", "1", "-e", "signed", "-t", "raw")


def speak(text: str, voice: str, speed: int, pitch: int, workdir: Path) -> np.ndarray:
    """espeak-ng to a WAV, sox to 16 kHz mono 16-bit, padded with LEAD_S before and 0.8 s after."""
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
            *RAW_PCM,
            str(raw),
            "pad",
            str(LEAD_S),
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
                *RAW_PCM,
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


def voice_of(i: int) -> str:
    """The voice of the set's i-th command. Commands cycle through the phrasings and voices
    cycle too; 32 phrasings over 8 voices would give each voice only 4 phrasings (en-029 always
    unlisting, en-gb-x-rp always raising a price by a percent), so each pass over the phrasings
    moves the voices on by one: in 8 passes every voice says every phrasing once."""
    return VOICES[(i + i // PHRASINGS) % len(VOICES)]


def build(count: int, seed: int = 7) -> list[Spoken]:
    """The spoken set: `count` commands over the voices, speeds 140-190 wpm and pitches 35-65."""
    require_tools()
    rng = random.Random(seed)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, command in enumerate(typed_commands(count, seed)):
            voice = voice_of(i)
            speed, pitch = rng.randrange(140, 191, 10), rng.randrange(35, 66, 5)
            samples = speak(command.text, voice, speed, pitch, Path(tmp))
            out.append(Spoken(command.text, voice, speed, pitch, samples, command))
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
