"""`shopvoice speak FILE.wav...` and `shopvoice listen`: speech through the gateway.

speak streams each file at real-time pace (as a microphone would) through the
gateway and its ASR; with --json one line per file, in order:
{"transcript": ..., "intent": ..., "slots": {...}} (slots as `shopvoice parse --json`
prints them), with "source", "candidates" and "error" as `shopvoice say --json` adds them (a
name that fits several products leaves "sku" out and lists the sorted "candidates"); with
--dry-run the commands are understood but not executed.
listen records the microphone (ALSA's arecord) one utterance at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

from shopvoice_cli import render, say
from shopvoice_cli.client import Conversation, Turn


class AudioFileError(ValueError):
    """A file we cannot stream: says why."""


@dataclass(frozen=True)
class Recording:
    path: Path
    pcm: bytes
    sample_rate_hz: int


def read_wav(path: Path) -> Recording:
    """16-bit mono PCM WAV, any rate the ASR accepts (8-48 kHz; it resamples)."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                raise AudioFileError(
                    f"{path}: need 16-bit mono PCM, got {wav.getsampwidth() * 8}-bit with {wav.getnchannels()} channels"
                    " (sox IN.wav -b 16 -c 1 OUT.wav converts it)"
                )
            return Recording(path, wav.readframes(wav.getnframes()), wav.getframerate())
    except (wave.Error, EOFError) as exc:
        raise AudioFileError(f"{path}: not a PCM WAV file ({str(exc) or 'it ends too soon'})") from exc


def as_json(turn: Turn) -> dict[str, object]:
    """One spoken turn: its transcript, then the turn as `say --json` prints it. Before, the
    candidates of a name that fits several products were left out, so a spoken "the T-shirt"
    read as a command of no product."""
    return {"transcript": turn.transcript, **say.as_json(turn)}


async def speak_files(
    gateway: str, token: str, recordings: list[Recording], as_lines: bool, dry_run: bool, realtime: bool
) -> int:
    rates = {r.sample_rate_hz for r in recordings}
    if len(rates) > 1:
        raise AudioFileError(f"files have different sample rates {sorted(rates)}; speak them in separate runs")
    failures = 0
    async with Conversation(gateway, token, sample_rate_hz=rates.pop(), dry_run=dry_run, timeout_s=60) as conversation:
        for recording in recordings:
            if not as_lines:
                print(f"merchant (spoken): {recording.path.name}", flush=True)
            printer = None if as_lines else (lambda m: print(render.line(m), flush=True))
            turn = await conversation.speak(recording.pcm, realtime=realtime, on_message=printer)
            if as_lines:
                print(json.dumps(as_json(turn), ensure_ascii=False), flush=True)
            failures += 0 if render.went_well(turn) else 1
    return failures


def listen(gateway: str, token: str, seconds: float, dry_run: bool) -> int:
    """Record `seconds` from the microphone and speak it; repeat until Ctrl-C."""
    arecord = shutil.which("arecord")
    if arecord is None:
        print("shopvoice listen needs ALSA's arecord (apt-get install alsa-utils) and a microphone", file=sys.stderr)
        return 2
    rate = 16_000
    try:
        while True:
            print(f"listening for {seconds:g} s …", flush=True)
            captured = subprocess.run(
                [arecord, "-q", "-f", "S16_LE", "-r", str(rate), "-c", "1", "-t", "raw", "-d", str(int(seconds))],
                capture_output=True,
                check=False,
            )
            if captured.returncode != 0:
                print(f"no microphone: {captured.stderr.decode(errors='replace').strip()}", file=sys.stderr)
                return 2
            recording = Recording(Path("microphone"), captured.stdout, rate)
            asyncio.run(speak_files(gateway, token, [recording], False, dry_run, realtime=False))
    except KeyboardInterrupt:
        return 0


def add_arguments(speak: argparse.ArgumentParser, listen_parser: argparse.ArgumentParser, gateway_default: str) -> None:
    speak.add_argument("files", nargs="+", type=Path, metavar="FILE.wav")
    speak.add_argument(
        "--json",
        action="store_true",
        help="one JSON line per file: transcript, intent, slots (and source, candidates, error as say --json)",
    )
    speak.add_argument("--dry-run", action="store_true", help="understand the commands, execute nothing")
    speak.add_argument("--fast", action="store_true", help="stream as fast as possible, not at real-time pace")
    speak.add_argument("--gateway", default=gateway_default)
    listen_parser.add_argument("--seconds", type=float, default=4, help="length of each utterance recorded")
    listen_parser.add_argument("--dry-run", action="store_true")
    listen_parser.add_argument("--gateway", default=gateway_default)
