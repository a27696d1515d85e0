"""ASR benchmark: real-time factor per stream, and how many real-time streams one server sustains.

Starts `python -m services.asr` (sphinx engine, built-in phrases), then for each
concurrency N opens N streams that send spoken commands (espeak-ng, 48 of the
test set) back to back, each padded with 0.8 s of silence. Audio goes out as a
microphone would deliver it: a 100 ms message leaves when its last sample has
been "spoken" (stream start + its end time), never earlier. Measured:

- RTF per stream: CPU seconds of the whole server (its process and its decoding
  processes, from /proc) per second of audio, at each N; "decode" is the share
  of it spent in the decoding processes (the rest is gRPC and endpointing);
- latency: from the true end of an utterance's speech (stream start + the time of
  its last sample above 5% of the peak, in audio time) to the arrival of its
  final result. It includes waiting for the message that carries the end (up to
  one chunk), the endpointer's pause, decoding and gRPC;
- exact: finals equal to the spoken text (the accuracy the latency was bought at);
- cut: utterances whose last final the server ended before the speech did (a pause inside
  it ended it early and the rest, resuming within the stop window, was not sent): wrong, so
  in neither exact nor the latencies.

Streams start at seeded random offsets within the first 4 s, as people do: in
lockstep, every stream's final would fall due in the same 100 ms.

A level is sustained when p95 latency < 300 ms and every utterance got a final.
The bench client runs on the same cores as the server (it is part of the load).

The peer: the same levels against a second server that differs only by the
environment in --peer (default: ASR_PHRASE_PAUSE_MS=0, i.e. every utterance waits
out the caller's whole stop window), in the same run.

    PYTHONPATH=. python bench/asr_bench.py [--levels 1,4,8,16,24,32] [--utterances 3] [--chunk-ms 100] [--peer ENV]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# The repository root, for services/ and tests/support (make runs this from the root, without PYTHONPATH).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import riva.client

from services.asr import testset
from tests.asr.support import streaming_config, utterance_ends
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess, cpu_seconds, tree_cpu_seconds

CHUNK_MS = 100  # Riva clients' usual message size; --chunk-ms to try others
STOP_HISTORY_MS = 240  # what the bench asks for: a short stop window, as a voice UI would
TARGET_P95_MS = 300
STAGGER_S = 4.0
MIN_UTTERANCES = 16  # per level, so one stream's p95 is not just its slowest of three


@dataclass(frozen=True)
class Utterance:
    text: str
    pcm: bytes
    speech_end_s: float  # audio time of the last sample above 5% of the peak


def utterance(spoken: testset.Spoken) -> Utterance:
    x = np.abs(spoken.samples.astype(np.int32))
    last = int(np.nonzero(x > 0.05 * x.max())[0][-1]) + 1
    return Utterance(spoken.text, spoken.samples.astype("<i2").tobytes(), last / testset.RATE)


def server_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time of the server process, and of the processes under it (the decoding processes)."""
    own = cpu_seconds(pid)
    return own, tree_cpu_seconds(pid) - own


@dataclass
class StreamResult:
    latencies: list[float]
    exact: int
    errors: list[str]
    cut: int = 0  # finals that came before the speech ended (the rest of it dropped as a continuation)


def run_stream(address: str, utterances: list[Utterance], out: StreamResult, delay_s: float, chunk_ms: int) -> None:
    """One stream, after delay_s: the utterances back to back at real-time pace; latency per utterance."""
    time.sleep(delay_s)
    asr = riva.client.ASRService(riva.client.Auth(uri=address))
    step = testset.RATE * 2 * chunk_ms // 1000
    audio_bytes = b"".join(u.pcm for u in utterances)
    ends: list[float] = []  # audio time of each utterance's speech end
    bounds = [0.0]  # audio time where each utterance's audio begins, and where the last one ends
    for u in utterances:
        ends.append(bounds[-1] + u.speech_end_s)
        bounds.append(bounds[-1] + len(u.pcm) / (2 * testset.RATE))
    start = 0.0

    def audio() -> Iterator[bytes]:
        nonlocal start
        start = time.perf_counter()
        for i in range(0, len(audio_bytes), step):
            chunk = audio_bytes[i : i + step]
            spoken_by = start + (i + len(chunk)) / (2 * testset.RATE)
            delay = spoken_by - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            yield chunk

    config = streaming_config(stop_history=STOP_HISTORY_MS, stop_threshold=0.9, words=False)
    finals: list[tuple[float, float, str]] = []  # arrival (wall clock), audio_processed, transcript
    try:
        for response in asr.streaming_response_generator(audio(), config):
            now = time.perf_counter()
            finals.extend(
                (now, r.audio_processed, r.alternatives[0].transcript) for r in response.results if r.is_final
            )
    except Exception as exc:  # a refused or failed stream is a result here, not a crash
        out.errors.append(str(exc)[:200])
    # An utterance's finals are those the server ended within its audio (audio_processed, stream time:
    # right under overload too); the last of them closes it, and its latency is that final's arrival
    # after the true end of the speech. A pause may have split it; a final ended before the speech
    # did means the rest was not sent (speech resuming within the stop window: ASR continuations),
    # so the utterance was cut short: counted, not timed.
    for k, end in enumerate(ends):
        mine = [(t, at, text) for t, at, text in finals if bounds[k] < at <= bounds[k + 1]]
        if not mine:
            out.errors.append(f"utterance {k} without a final result")
            continue
        arrived, ended_at, _ = mine[-1]
        if ended_at < end:
            out.cut += 1
        else:
            out.latencies.append(arrived - (start + end))
        out.exact += " ".join(text for _, _, text in mine) == utterances[k].text


def level(address: str, pid: int, n: int, pool: list[Utterance], per_stream: int, chunk_ms: int) -> dict[str, Any]:
    streams = [[pool[(s * per_stream + k) % len(pool)] for k in range(per_stream)] for s in range(n)]
    results = [StreamResult([], 0, []) for _ in streams]
    audio_s = sum(len(u.pcm) for s in streams for u in s) / (2 * testset.RATE)
    own0, children0 = server_cpu_seconds(pid)
    rng = random.Random(n)
    threads = [
        threading.Thread(target=run_stream, args=(address, s, r, rng.uniform(0, STAGGER_S) if n > 1 else 0.0, chunk_ms))
        for s, r in zip(streams, results, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    own, children = server_cpu_seconds(pid)
    cpu, decoding = own - own0 + children - children0, children - children0
    latencies = sorted(x for r in results for x in r.latencies)
    p95 = latencies[max(0, int(0.95 * len(latencies)) - 1)] if latencies else float("inf")
    return {
        "rtf": cpu / audio_s,
        "decoding": decoding / max(cpu, 1e-9),
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("inf"),
        "p95_ms": 1000 * p95,
        "max_ms": 1000 * latencies[-1] if latencies else float("inf"),
        "exact": sum(r.exact for r in results) / (n * per_stream),
        "errors": sum(len(r.errors) for r in results),
        "cut": sum(r.cut for r in results),
        "first_error": next((e for r in results for e in r.errors), ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,4,8,16,24,32")
    parser.add_argument("--utterances", type=int, default=3, help="utterances per stream")
    parser.add_argument("--chunk-ms", type=int, default=CHUNK_MS, help="audio per message")
    parser.add_argument("--peer", default="ASR_PHRASE_PAUSE_MS=0", help="env of the peer server ('' = no peer)")
    args = parser.parse_args()
    levels = sorted(int(x) for x in args.levels.split(","))
    pool = [utterance(s) for s in testset.build(48, seed=23)]
    base = {"ASR_PHRASES": "builtin", "ASR_MAX_STREAMS": str(max(levels))}
    servers = {"server": {**base, "METRICS_PORT": str(free_port())}}
    if args.peer:
        peer_env = dict(item.split("=", 1) for item in args.peer.split(","))
        servers["peer"] = {**base, "METRICS_PORT": str(free_port()), **peer_env}
    print(
        f"cores: {os.cpu_count()}  chunk: {args.chunk_ms} ms  stop_history: {STOP_HISTORY_MS} ms  "
        f"utterances/stream: {args.utterances} (at least {MIN_UTTERANCES} per level)  load average: {os.getloadavg()[0]:.2f}"
    )
    for name, env in servers.items():
        print(f"{name}: {' '.join(f'{k}={v}' for k, v in env.items() if k != 'METRICS_PORT')}")
    print(
        f"{'server':>6} {'streams':>7} {'RTF':>6} {'decode':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'exact':>6} {'cut':>4} {'errors':>6}"
        "  sustained"
    )
    best = dict.fromkeys(servers, 0)
    failed: set[str] = set()
    with tempfile.TemporaryDirectory() as logs:
        procs = {name: ServiceProcess("asr", env, Path(logs) / name) for name, env in servers.items()}
        try:
            for name, proc in procs.items():
                (Path(logs) / name).mkdir()
                proc.start()
            # level by level, the peer right after the server: both see the same background load
            for n in levels:
                for name, proc in procs.items():
                    assert proc.proc is not None
                    per_stream = max(args.utterances, -(-MIN_UTTERANCES // n))
                    ends_before = utterance_ends(servers[name]["METRICS_PORT"])
                    r = level(proc.address, proc.proc.pid, n, pool, per_stream, args.chunk_ms)
                    ends = utterance_ends(servers[name]["METRICS_PORT"]) - ends_before
                    ok = r["p95_ms"] < TARGET_P95_MS and r["errors"] == 0
                    if not ok:
                        failed.add(name)
                    if name not in failed:
                        best[name] = n
                    print(
                        f"{name:>6} {n:7d} {r['rtf']:6.3f} {r['decoding']:6.0%} {r['p50_ms']:7.0f} {r['p95_ms']:7.0f} {r['max_ms']:7.0f} "
                        f"{r['exact']:6.0%} {int(r['cut']):4d} {int(r['errors']):6d}  " + ("yes" if ok else "no"),
                        flush=True,
                    )
                    if r["first_error"]:
                        print(f"{'':>15}first error: {r['first_error']}")
                    print(f"{'':>15}ended by: " + ", ".join(f"{k} {v}" for k, v in sorted(ends.items())))
        finally:
            for proc in procs.values():
                if proc.proc is not None:
                    proc.stop()
    for name in servers:
        print(f"{name}: most concurrent real-time streams with p95 < {TARGET_P95_MS} ms: {best[name]}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
