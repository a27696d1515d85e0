"""Build the spoken evaluation clips: WAV, 16 kHz, 16-bit mono, the same bytes on every run.

    python -m eval.spoken.build OUT_DIR --half dev [--limit N] [--ids sp-001,nc-004] [--jobs 2]

Commands: each command is built at three noise levels (clean, 20 dB and 10 dB SNR), each
level in ONE of the four English voices; the voice rotates with the command's position
in the half and with the level (voice = VOICES[(position + level) % 4]), so every command
is heard in three different voices and every voice gets a quarter of each level. That is
3 clips per command instead of 12 (every voice x every level), which keeps a 2-core CI
run short while still giving per-voice and per-level figures on about 47 commands each
(dev half).

Non-commands: each clip once, clean. English chatter rotates over the same four voices;
other languages use their own espeak-ng voice (given in the file); non-speech is made by
sox from the clip's own synth spec.

Noise: "shop babble", six other espeak-ng talkers (accents and voices not among the four
test voices) reading everyday sentences at once, over a pink-noise floor 10 dB below them,
made once per build into OUT_DIR/_noise/babble.wav. Each noisy clip takes its own stretch
of it (chosen from a checksum of id and level) and scales it so that the measured SNR is
the target: speech power is the active speech level (the mean power of the 20 ms frames
within 35 dB of the loudest frame, so pauses do not count), noise power is the mean power
of the noise over the whole clip. The measured value is written in the manifest. A speech
clip whose peak would pass 0.98 of full scale, clean or noisy, is scaled down as a whole,
which keeps its SNR (espeak-ng's own output reaches full scale on a few clips).

Every speech clip has 0.3 s before and 0.5 s after the speech (silence when clean, noise
when noisy), so an endpointer sees the end of the utterance.

OUT_DIR/manifest.jsonl: one line per clip: clip (path under OUT_DIR), id, set, kind,
voice, language, level, snr_db, snr_db_measured, duration_s, text, expected (the
command's expect object; null for a non-command), tags.

Needs espeak-ng and sox on PATH, numpy; otherwise the standard library.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
import wave
import zlib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
RATE = 16_000
VOICES = ("en-us", "en-gb", "en-us+f3", "en-us+m3")
LEVELS: tuple[tuple[str, float | None], ...] = (("clean", None), ("snr20", 20.0), ("snr10", 10.0))
LEAD_S, TAIL_S = 0.3, 0.5
FRAME = RATE // 50  # 20 ms
ACTIVE_RANGE_DB = 35.0
PEAK_LIMIT = 0.98

BABBLE_VOICES = (
    "en-gb-scotland",
    "en-029",
    "en-us-nyc",
    "en-gb-x-rp+f2",
    "en-gb-x-gbclan+f4",
    "en-gb-x-gbcwmd+m5",
)
BABBLE_SENTENCES = (
    "the garden looks lovely in the spring",
    "we drove up to the lake for the weekend",
    "my brother is learning to play the violin",
    "there was a long queue at the bakery this morning",
    "she said the film was better than the book",
    "I can never remember where I parked the car",
    "the neighbours are painting their house yellow",
    "they are building a new bridge across the river",
    "he always forgets his umbrella",
    "the children were playing football in the park",
    "we had soup and bread for dinner",
    "the train was packed this evening",
    "I have been reading a book about old ships",
    "the forecast says sunshine tomorrow",
    "she moved to a small village by the sea",
    "the museum is free on the first Sunday of the month",
    "my grandfather tells the same jokes every time",
    "the dog barked at the postman again",
    "we are thinking of going camping in August",
    "the cafe on the corner does great pancakes",
)
BED_SECONDS = 90
PINK_FLOOR_DB = -10.0

Audio = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ClipJob:
    """One clip to make; what the manifest says about it, plus how to make it."""

    clip: str
    id: str
    set: str
    kind: str
    voice: str | None
    language: str | None
    level: str
    snr_db: float | None
    text: str | None
    expected: dict[str, Any] | None
    tags: list[str]
    spec: dict[str, Any] | None = None


def run(command: Sequence[str], stdin: bytes | None = None) -> bytes:
    result = subprocess.run(list(command), input=stdin, capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace')[:300]}")
    return result.stdout


def to_raw_16k(inputs: Sequence[str], effects: Sequence[str], stdin: bytes | None) -> Audio:
    """Run sox, returning 16 kHz mono samples (float, so resampling overshoot is not clipped here).

    No dither and a fixed seed (-R): the same samples on every run.
    """
    out = ["-t", "raw", "-r", str(RATE), "-e", "floating-point", "-b", "32", "-L", "-c", "1", "-"]
    raw = run(["sox", "-R", "-D", *inputs, *out, *effects], stdin)
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


def speak(text: str, voice: str) -> Audio:
    wav = run(["espeak-ng", "-v", voice, "--stdout", text])
    return to_raw_16k(["-t", "wav", "-"], [], wav)


def synthesise(sox_effects: Sequence[str]) -> Audio:
    return to_raw_16k(["-n"], sox_effects, None)


def active_power(speech: Audio) -> float:
    """Mean power of the 20 ms frames within ACTIVE_RANGE_DB of the loudest one."""
    frames = speech[: len(speech) // FRAME * FRAME].reshape(-1, FRAME)
    power = (frames**2).mean(axis=1)
    loud = power[power >= power.max() * 10 ** (-ACTIVE_RANGE_DB / 10)]
    return float(loud.mean())


def write_wav(path: Path, samples: Audio) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


def quantised(samples: Audio) -> Audio:
    return np.clip(np.round(samples * 32768.0), -32768, 32767) / 32768.0


def make_babble(path: Path) -> None:
    """Six talkers reading at once over a pink-noise floor; BED_SECONDS long, RMS 0.1."""
    length = BED_SECONDS * RATE
    bed = np.zeros(length)
    for index, voice in enumerate(BABBLE_VOICES):
        order = BABBLE_SENTENCES[index * 3 :] + BABBLE_SENTENCES[: index * 3]
        talker = speak(". ".join(order) + ".", voice)
        talker = np.resize(talker, length)  # repeats the talker to fill the bed
        talker = np.roll(talker, index * length // len(BABBLE_VOICES))
        bed += talker / math.sqrt(active_power(talker))
    pink = synthesise(["synth", str(BED_SECONDS), "pinknoise"])[:length]
    bed_power = float((bed**2).mean())
    bed += pink * math.sqrt(bed_power * 10 ** (PINK_FLOOR_DB / 10) / float((pink**2).mean()))
    write_wav(path, bed * 0.1 / math.sqrt(float((bed**2).mean())))


def read_wav(path: Path) -> Audio:
    with wave.open(str(path), "rb") as source:
        raw = source.readframes(source.getnframes())
    return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0


_BED: Audio | None = None


def _load_bed(path: str | None) -> None:
    global _BED
    _BED = read_wav(Path(path)) if path else None


def mix(speech: Audio, job: ClipJob) -> tuple[Audio, float | None]:
    """Pad the speech and, for a noisy level, add babble at the target SNR; return (mix, measured SNR)."""
    padded = np.concatenate([np.zeros(int(LEAD_S * RATE)), speech, np.zeros(int(TAIL_S * RATE))])
    if job.snr_db is None:
        return padded * min(1.0, PEAK_LIMIT / float(np.abs(padded).max())), None
    assert _BED is not None and len(_BED) > len(padded)
    start = zlib.crc32(f"{job.id}:{job.level}".encode()) % (len(_BED) - len(padded))
    noise = _BED[start : start + len(padded)]
    speech_power = active_power(speech)
    noise = noise * math.sqrt(speech_power / (float((noise**2).mean()) * 10 ** (job.snr_db / 10)))
    mixed = padded + noise
    scale = min(1.0, PEAK_LIMIT / float(np.abs(mixed).max()))
    mixed = quantised(mixed * scale)
    heard_noise = mixed - padded * scale
    measured = 10 * math.log10(speech_power * scale**2 / float((heard_noise**2).mean()))
    return mixed, round(measured, 2)


def build_clip(job: ClipJob, out_dir: str) -> dict[str, Any]:
    if job.spec is not None:
        samples, measured = synthesise(job.spec["sox"]), None
        expected_s = float(job.spec["duration_s"])
        if abs(len(samples) / RATE - expected_s) > 0.01:
            raise RuntimeError(f"{job.id}: sox made {len(samples) / RATE:.3f} s, the spec says {expected_s} s")
    else:
        assert job.text is not None and job.voice is not None
        samples, measured = mix(speak(job.text, job.voice), job)
    write_wav(Path(out_dir) / job.clip, samples)
    row = asdict(job)
    del row["spec"]
    measured_fields = {"snr_db_measured": measured, "duration_s": round(len(samples) / RATE, 3)}
    order = [*list(row)[: list(row).index("snr_db") + 1], *measured_fields]
    return {key: {**row, **measured_fields}[key] for key in [*order, *(k for k in row if k not in order)]}


def command_jobs(rows: list[dict[str, Any]]) -> list[ClipJob]:
    jobs = []
    for position, row in enumerate(rows):
        for level_index, (level, snr) in enumerate(LEVELS):
            voice = VOICES[(position + level_index) % len(VOICES)]
            jobs.append(
                ClipJob(
                    clip=f"commands/{row['id']}.{level}.{voice.replace('+', '_')}.wav",
                    id=row["id"],
                    set="commands",
                    kind="command",
                    voice=voice,
                    language="en",
                    level=level,
                    snr_db=snr,
                    text=row["text"],
                    expected=row["expect"],
                    tags=row["tags"],
                )
            )
    return jobs


def non_command_jobs(rows: list[dict[str, Any]]) -> list[ClipJob]:
    jobs = []
    english = 0
    for row in rows:
        voice, language = row.get("voice"), row.get("language")
        if row["kind"] == "non_speech":
            language = None
        elif language is None:
            voice, language = VOICES[english % len(VOICES)], "en"
            english += 1
        jobs.append(
            ClipJob(
                clip=f"non_commands/{row['id']}.wav",
                id=row["id"],
                set="non_commands",
                kind=row["kind"],
                voice=voice,
                language=language,
                level="clean",
                snr_db=None,
                text=row.get("text"),
                expected=None,
                tags=row["tags"],
                spec=row.get("spec"),
            )
        )
    return jobs


def read_half(name: str, half: str) -> list[dict[str, Any]]:
    path = HERE / (f"{name}.jsonl" if half == "all" else f"{name}.{half}.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def select(rows: list[dict[str, Any]], ids: set[str] | None, limit: int | None) -> list[str]:
    chosen = [row["id"] for row in rows if ids is None or row["id"] in ids]
    return chosen[:limit] if limit is not None else chosen


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Build the spoken evaluation clips (see the module docstring).")
    parser.add_argument("out_dir", type=Path, help="folder for the WAVs and manifest.jsonl (created; never commit it)")
    parser.add_argument("--half", choices=("dev", "test", "all"), required=True, help="which half of the sets")
    parser.add_argument("--limit", type=int, help="only the first N commands and the first N non-commands")
    parser.add_argument("--ids", help="only these ids, comma-separated (sp-001,nc-004)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (default 2)")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            print(f"{tool} is not on PATH; install it (Debian: apt-get install espeak-ng sox)", file=sys.stderr)
            return 2
    started = time.monotonic()
    commands, non_commands = read_half("commands", args.half), read_half("non_commands", args.half)
    ids = set(args.ids.split(",")) if args.ids else None
    if ids is not None and (unknown := ids - {row["id"] for row in commands + non_commands}):
        print(f"not in the {args.half} half: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    # Voices are assigned over the whole half first, so a subset gets the same voice per clip.
    wanted = set(select(commands, ids, args.limit)) | set(select(non_commands, ids, args.limit))
    jobs = [job for job in command_jobs(commands) + non_command_jobs(non_commands) if job.id in wanted]
    out_dir: Path = args.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    bed = None
    if any(job.snr_db is not None for job in jobs):
        bed = out_dir / "_noise" / "babble.wav"
        bed.parent.mkdir(exist_ok=True)
        make_babble(bed)
    with ProcessPoolExecutor(
        max_workers=args.jobs, initializer=_load_bed, initargs=(str(bed) if bed else None,)
    ) as pool:
        rows = list(pool.map(build_clip, jobs, [str(out_dir)] * len(jobs), chunksize=8))
    with (out_dir / "manifest.jsonl").open("w", encoding="utf-8") as manifest:
        for row in rows:
            manifest.write(json.dumps(row, ensure_ascii=False) + "\n")
    seconds = sum(row["duration_s"] for row in rows)
    per_set = {name: sum(row["set"] == name for row in rows) for name in ("commands", "non_commands")}
    print(
        f"{len(rows)} clips ({per_set['commands']} command clips, {per_set['non_commands']} non-command clips), "
        f"{seconds / 60:.1f} min of audio, built in {time.monotonic() - started:.1f} s with {args.jobs} processes "
        f"into {out_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
