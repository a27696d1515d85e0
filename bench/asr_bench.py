"""ASR benchmark: real-time factor, and how many real-time streams one process sustains.

Starts `python -m services.asr` (sphinx engine, built-in phrases), then for each
concurrency N opens N streams that send spoken commands (espeak-ng) paced in real
time, 100 ms per message, each followed by silence. Measured:

- RTF: the server process's CPU seconds per second of audio (from /proc), at N=1
  and at each N;
- latency: from the wall time the last chunk holding speech was sent to the
  arrival of that utterance's final result. It includes the endpointer's stop
  window (the bench asks for stop_history=240 ms, stop_threshold 0.9).

A concurrency level is sustained when p95 latency < 300 ms and every stream got a final.

    PYTHONPATH=. python bench/asr_bench.py [--levels 1,4,8,16,24,32] [--utterances 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import riva.client

from services.asr import testset
from tests.asr.support import streaming_config
from tests.support.processes import ServiceProcess

CHUNK_MS = 100


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_stream(address: str, utterances: list[bytes], latencies: list[float], errors: list[str]) -> None:
    """One stream: the utterances back to back, paced in real time; latency per final."""
    asr = riva.client.ASRService(riva.client.Auth(uri=address))
    speech_end: list[float] = []
    step = 16_000 * 2 * CHUNK_MS // 1000

    def audio() -> Iterator[bytes]:
        start = time.perf_counter()
        sent = 0.0
        for pcm in utterances:
            x = np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32))
            speech_bytes = 2 * (int(np.nonzero(x > 0.05 * x.max())[0][-1]) + 1)  # the speech's true end
            for i in range(0, len(pcm), step):
                target = start + sent
                delay = target - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                yield pcm[i : i + step]
                sent += min(step, len(pcm) - i) / 32_000
                if i < speech_bytes <= i + step:
                    speech_end.append(time.perf_counter())

    config = streaming_config(stop_history=240, stop_threshold=0.9, words=False)
    final_times: list[float] = []
    try:
        for response in asr.streaming_response_generator(audio(), config):
            final_times.extend(time.perf_counter() for r in response.results if r.is_final)
    except Exception as exc:  # a refused or failed stream is a result here, not a crash
        errors.append(str(exc)[:200])
    # each utterance's latency: its speech end to the first final after it (a pause may have
    # split the utterance into several finals; the one that closes it comes after its end)
    for k, end in enumerate(speech_end):
        nxt = speech_end[k + 1] if k + 1 < len(speech_end) else float("inf")
        after = [t for t in final_times if end <= t < nxt + 1.0]
        if after:
            latencies.append(after[0] - end)
        else:
            errors.append(f"utterance {k} without a final result")


def level(address: str, pid: int, n: int, pool: list[bytes], per_stream: int) -> dict[str, float]:
    latencies: list[float] = []
    errors: list[str] = []
    streams = [[pool[(s * per_stream + k) % len(pool)] for k in range(per_stream)] for s in range(n)]
    audio_s = sum(len(u) for s in streams for u in s) / 32_000
    cpu0, wall0 = cpu_seconds(pid), time.perf_counter()
    threads = [threading.Thread(target=run_stream, args=(address, s, latencies, errors)) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = cpu_seconds(pid) - cpu0
    latencies.sort()
    p95 = latencies[max(0, int(0.95 * len(latencies)) - 1)] if latencies else float("inf")
    return {
        "streams": n,
        "audio_s": audio_s,
        "wall_s": time.perf_counter() - wall0,
        "rtf": cpu / audio_s,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("inf"),
        "p95_ms": 1000 * p95,
        "errors": len(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,4,8,16,24,32")
    parser.add_argument("--utterances", type=int, default=3, help="utterances per stream")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    pool = [s.samples.tobytes() for s in testset.build(48, seed=23)]
    with tempfile.TemporaryDirectory() as logs:
        proc = ServiceProcess(
            "asr", {"ASR_PHRASES": "builtin", "ASR_MAX_STREAMS": str(max(levels) + 4)}, Path(logs)
        ).start()
        assert proc.proc is not None
        try:
            print(f"cores: {os.cpu_count()}  chunk: {CHUNK_MS} ms  utterances/stream: {args.utterances}")
            print(f"{'streams':>7} {'RTF':>6} {'p50 ms':>7} {'p95 ms':>7} {'errors':>6}  sustained")
            best = 0
            for n in levels:
                r = level(proc.address, proc.proc.pid, n, pool, args.utterances)
                ok = r["p95_ms"] < 300 and r["errors"] == 0
                best = n if ok else best
                print(
                    f"{n:7d} {r['rtf']:6.3f} {r['p50_ms']:7.0f} {r['p95_ms']:7.0f} {int(r['errors']):6d}  "
                    + ("yes" if ok else "no"),
                    flush=True,
                )
            print(f"most concurrent real-time streams with p95 < 300 ms: {best}")
        finally:
            proc.stop()


if __name__ == "__main__":
    main()
