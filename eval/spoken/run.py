"""Score the speech path on a built half of the spoken set (eval/spoken/build.py's clips).

    python -m eval.spoken.build /tmp/spoken-dev --half dev
    PYTHONPATH=. python -m eval.spoken.run /tmp/spoken-dev [--every 3] [--out heard.jsonl]

Each clip is streamed through the ASR's CPU engine as the server builds it (services/asr:
the grammar decoder with its phone-loop rejection, whisper for what the grammar rejects when
`make models` installed it), in 100 ms messages, two files at a time; every final goes
through the NLU's fast path (shopvoice.grammar's parser, then services.nlu.resolve for
product names; the LLM tail is not run here) and the read-back policy
(services/nlu/readback.py) decides whether a change would have been committed at once.

Reported: command accuracy per noise level and per voice (eval/score.py's `passes`), the
share of finals each engine gave, wrong commits (a change acted on at once that is not the
expected command: must be 0), and non-command clips that became a command (<= 1%).
`--every N` scores every Nth command (all levels of it) to fit a loaded machine; the
`--non-every N` every Nth non-command clip (they are listed by kind, so each kind keeps its share). Never point it at a test half while tuning.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import yaml
from riva.client.proto import riva_asr_pb2 as rasr

from eval.score import passes
from services.asr.audio import AudioFormat
from services.asr.config import AsrSettings
from services.asr.engines import sphinx
from services.asr.engines.sphinx_engine import SphinxEngine
from services.asr.engines.whisper import OPEN_VOCABULARY_MODEL
from services.asr.vocabulary import Vocabulary
from services.nlu import readback
from services.nlu.resolve import resolve
from shopvoice.grammar.commands import command_to_json
from shopvoice.grammar.parser import parse
from shopvoice.grammar.vocabulary import Vocabulary as NluVocabulary

ROOT = Path(__file__).resolve().parents[2]
CHUNK_BYTES = 3200
STREAMS = 2
ENGINE_OF: dict[str, str] = {}  # final text -> the engine that gave it
GAP_OF: dict[str, tuple[str, float | None]] = {}  # final text -> the grammar's words and score gap


def demo_products() -> tuple[tuple[str, str], ...]:
    shop = yaml.safe_load((ROOT / "shopvoice_cli" / "demo_shop.yaml").read_text())
    return tuple((p["sku"], p["title_en"].lower()) for p in shop["products"])


async def hear(engine: SphinxEngine, pcm: bytes) -> list[dict[str, Any]]:
    """Every final of one clip: text, confidence, and which engine gave it."""
    config = rasr.StreamingRecognitionConfig(config=rasr.RecognitionConfig(sample_rate_hertz=16_000))

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(pcm), CHUNK_BYTES):
            yield pcm[i : i + CHUNK_BYTES]

    finals = []
    async for response in engine.streaming(config, AudioFormat(16_000), chunks(), live=False):
        for r in response.results:
            if r.is_final and r.alternatives:
                alt = r.alternatives[0]
                by = ENGINE_OF.get(alt.transcript, "grammar")
                grammar, gap = GAP_OF.get(alt.transcript, ("", None))
                finals.append(
                    {"text": alt.transcript, "confidence": round(alt.confidence, 4), "engine": by, "grammar": grammar}
                    | {"gap": None if gap is None else round(gap, 2)}
                )
    return finals


def understand(text: str, vocabulary: NluVocabulary) -> dict[str, Any]:
    parsed = parse(text, vocabulary)
    resolution = resolve(parsed.command, vocabulary)
    out = command_to_json(resolution.command)
    if resolution.candidates:
        out["candidates"] = resolution.candidates
    return out


def score(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of issue 27 from the per-clip rows."""
    commands = [r for r in rows if r["expected"] is not None]
    others = [r for r in rows if r["expected"] is None]
    by_level: dict[str, Counter[str]] = defaultdict(Counter)
    by_voice: dict[str, Counter[str]] = defaultdict(Counter)
    engines: Counter[str] = Counter()
    for r in commands:
        for key, table in ((r["level"], by_level), (r["voice"], by_voice)):
            table[key]["n"] += 1
            table[key]["ok"] += r["ok"]
    for r in rows:
        engines[r["engine"]] += 1
    return {
        "command_clips": len(commands),
        "accuracy_by_level": {k: round(v["ok"] / v["n"], 3) for k, v in sorted(by_level.items())},
        "accuracy_by_voice": {k: round(v["ok"] / v["n"], 3) for k, v in sorted(by_voice.items())},
        "n_by_level": {k: v["n"] for k, v in sorted(by_level.items())},
        "engine_share": {k: round(v / len(rows), 3) for k, v in engines.most_common()},
        "wrong_commits": sum(r["wrong_commit"] for r in rows),
        "read_back_of_right": sum(r["ok"] and r["decision"] == "read_back" for r in commands),
        "non_command_clips": len(others),
        "non_commands_as_command": sum(r["became_command"] for r in others),
        "non_commands_as_command_share": round(sum(r["became_command"] for r in others) / max(1, len(others)), 4),
    }


def judge(clip: dict[str, Any], finals: list[dict[str, Any]], vocabulary: NluVocabulary) -> dict[str, Any]:
    text = " ".join(f["text"] for f in finals).strip()
    confidence = min((f["confidence"] for f in finals), default=0.0)
    got = understand(text, vocabulary) if text else {"intent": "none", "slots": {}}
    intent = str(got.get("intent", "none"))
    is_command = intent not in ("none", "unknown")
    engine = "none" if not text else ("whisper" if _is_whisper(finals) else "grammar")
    expected = clip["expected"]
    ok = bool(expected is not None and is_command and passes(expected, got))
    decision = readback.spoken_decision(got, confidence, engine) if is_command else "none"
    acts = is_command and decision == "act" and readback.changes_data(intent)
    return {
        "id": clip["id"],
        "level": clip["level"],
        "voice": clip["voice"],
        "kind": clip["kind"],
        "said": clip["text"],
        "expected": expected,
        "heard": text,
        "confidence": confidence,
        "finals": finals,
        "engine": engine,
        "got": got,
        "ok": ok,
        "decision": decision,
        "wrong_commit": bool(acts and not ok),
        "became_command": bool(expected is None and is_command),
    }


def _is_whisper(finals: list[dict[str, Any]]) -> bool:
    return any(f.get("engine") == "whisper" for f in finals)


async def run(
    clips: list[dict[str, Any]], root: Path, settings: AsrSettings, out: Path | None = None
) -> list[dict[str, Any]]:
    products = demo_products()
    engine = SphinxEngine.from_settings(settings, Vocabulary(products=products), workers=2, max_streams=STREAMS)
    vocabulary = NluVocabulary(products)
    engine.wait_ready(300)
    heard_by: dict[int, list[dict[str, Any]]] = {}
    # Which engine gave each final: every final passes the pool's fall_back, recorded as it answers.
    pool = engine.pool
    original = pool.fall_back

    async def fall_back(transcript: sphinx.Transcript) -> sphinx.Transcript:
        grammar = transcript.text or transcript.rejected
        result = await original(transcript)
        ENGINE_OF[result.text] = "whisper" if result.model == OPEN_VOCABULARY_MODEL else "grammar"
        GAP_OF[result.text] = (grammar, transcript.score_gap)
        return result

    pool.fall_back = fall_back  # type: ignore[method-assign]
    order = iter(range(len(clips)))
    sink = out.open("w") if out is not None else None

    async def worker() -> None:
        for i in order:
            pcm = (root / clips[i]["clip"]).read_bytes()[44:]
            finals = await hear(engine, pcm)
            heard_by[i] = finals
            if sink is not None:  # as they come: a partial run can be read
                sink.write(json.dumps(judge(clips[i], finals, vocabulary)) + "\n")
                sink.flush()
            if len(heard_by) % 20 == 0:
                print(f"{len(heard_by)}/{len(clips)} clips", file=sys.stderr, flush=True)

    try:
        await asyncio.gather(*(worker() for _ in range(STREAMS)))
    finally:
        await engine.close()
        if sink is not None:
            sink.close()
    return [judge(clips[i], heard_by[i], vocabulary) for i in range(len(clips))]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", type=Path, help="the folder eval/spoken/build.py wrote (with manifest.jsonl)")
    ap.add_argument("--every", type=int, default=1, help="score every Nth command (all its levels)")
    ap.add_argument("--non-every", type=int, default=1, help="score every Nth non-command clip")
    ap.add_argument("--out", type=Path, help="per-clip rows as JSON lines")
    args = ap.parse_args(argv)
    manifest = [json.loads(line) for line in (args.clips / "manifest.jsonl").read_text().splitlines() if line]
    if any(".test." in m["clip"] or m.get("half") == "test" for m in manifest):
        raise SystemExit("this is a test half: score it once, at the end, never while tuning")
    command_ids = sorted({m["id"] for m in manifest if m["expected"] is not None})
    chosen = set(command_ids[:: args.every])
    clips = [m for m in manifest if m["expected"] is not None and m["id"] in chosen]
    others = [m for m in manifest if m["expected"] is None]
    others = others[:: args.non_every]
    # Interleaved, so that a run stopped early has both kinds in proportion.
    step = max(1, len(clips) // max(1, len(others)))
    mixed: list[dict[str, Any]] = []
    for k in range(max(len(clips), len(others) * step)):
        if k < len(clips):
            mixed.append(clips[k])
        if k % step == 0 and k // step < len(others):
            mixed.append(others[k // step])
    clips = mixed
    started = time.monotonic()
    rows = asyncio.run(run(clips, args.clips, AsrSettings(), args.out))
    summary = score(rows)
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["every"] = args.every
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
