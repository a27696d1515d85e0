"""What a load test measured, summarised the way ghz does, with per-stage timings.

A sample is one turn: its client-side latency, its status, and the stage
timings the result carried. Stages are wall-clock instants stamped by the
services (final_transcript at the gateway, parsed/dispatched/committed at the
NLU, delivered at the gateway); with the client's own send and receive times
they split a turn's latency into the legs below, so a slow run shows where the
time went. A spoken turn's latency starts at the end of its speech, not at its
first chunk, so its first leg is the ASR's (VOICE_LEGS). Client and services
share one clock here (one machine); across machines the legs carry their skew.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PERCENTILES = (10, 25, 50, 75, 90, 95, 99)
# (leg name, stage it starts at, stage it ends at); "sent"/"received" are the client's:
# the command sent (text) or its last speech chunk sent (voice), and the reply received.
Leg = tuple[str, str, str]
SERVER_LEGS: tuple[Leg, ...] = (
    ("gateway → NLU parsed (queue + parse)", "final_transcript", "parsed"),
    ("parsed → dispatched (dialogue policy, permission)", "parsed", "dispatched"),
    ("dispatched → committed (owning service)", "dispatched", "committed"),
    ("committed → gateway (state + replies, reply stream)", "committed", "delivered"),
    ("gateway → client", "delivered", "received"),
)
LEGS: tuple[Leg, ...] = (("client → gateway", "sent", "final_transcript"), *SERVER_LEGS)
VOICE_LEGS: tuple[Leg, ...] = (
    ("end of speech → final transcript (ASR endpoint + decode)", "sent", "final_transcript"),
    *SERVER_LEGS,
)


@dataclass
class Sample:
    latency_s: float
    status: str
    sent_ns: int  # the command sent, or for speech the end of speech (wall clock)
    received_ns: int
    timings: list[tuple[str, int]]
    done_at: float = field(default_factory=time.perf_counter)
    heard_as_said: bool | None = None  # spoken turns: the final transcript was exactly the words said


@dataclass
class Live:
    rps: float
    p99_ms: float


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


@dataclass
class Report:
    workload: str
    concurrency: int
    rate_limit: float
    leg_spec: tuple[Leg, ...] = LEGS
    latency_label: str = "end-to-end latency"
    samples: list[Sample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    mishearings: Counter[str] = field(default_factory=Counter)  # "said → heard" of spoken turns
    error_codes: Counter[str] = field(default_factory=Counter)
    started_at: float = 0.0
    total_s: float = 0.0

    def add(self, sample: Sample) -> None:
        self.samples.append(sample)

    def add_error(self, code: str, message: str) -> None:
        self.error_codes[code] += 1
        self.errors[f"{code}: {message}"] += 1

    @property
    def error_count(self) -> int:
        return sum(self.error_codes.values())

    def live(self, window_s: float) -> Live:
        now = time.perf_counter()
        recent: list[float] = []
        for sample in reversed(self.samples):
            if now - sample.done_at > window_s:
                break
            recent.append(sample.latency_s)
        recent.sort()
        return Live(len(recent) / window_s, percentile(recent, 99) * 1000)

    def status_distribution(self) -> dict[str, int]:
        counts = Counter(s.status for s in self.samples)
        counts.update(self.error_codes)
        return dict(counts.most_common())

    def legs(self) -> dict[str, dict[str, float]]:
        """Per leg: count, average, p50, p99 in ms, over the samples that carry both stages."""
        values: dict[str, list[float]] = {name: [] for name, _a, _b in self.leg_spec}
        for sample in self.samples:
            at = dict(sample.timings)
            at["sent"], at["received"] = sample.sent_ns, sample.received_ns
            for name, start, end in self.leg_spec:
                if start in at and end in at:
                    values[name].append((at[end] - at[start]) / 1e6)
        out: dict[str, dict[str, float]] = {}
        for name, legs in values.items():
            if legs:
                legs.sort()
                out[name] = {
                    "count": len(legs),
                    "average_ms": sum(legs) / len(legs),
                    "p50_ms": percentile(legs, 50),
                    "p95_ms": percentile(legs, 95),
                    "p99_ms": percentile(legs, 99),
                }
        return out

    def transcripts(self) -> dict[str, Any] | None:
        """Spoken turns: how many were heard exactly as said (None for text)."""
        judged = [s.heard_as_said for s in self.samples if s.heard_as_said is not None]
        if not judged:
            return None
        return {"spoken": len(judged), "heard_as_said": sum(judged), "misheard": dict(self.mishearings.most_common(10))}

    def to_dict(self) -> dict[str, Any]:
        latencies = sorted(s.latency_s * 1000 for s in self.samples)
        count = len(latencies)
        out: dict[str, Any] = {
            "workload": self.workload,
            "latency": self.latency_label,
            "concurrency": self.concurrency,
            "rate_limit_rps": self.rate_limit,
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started_at)),
            "count": count,
            "total_s": self.total_s,
            "slowest_ms": latencies[-1] if latencies else 0.0,
            "fastest_ms": latencies[0] if latencies else 0.0,
            "average_ms": sum(latencies) / count if count else 0.0,
            "rps": count / self.total_s if self.total_s else 0.0,
            "latency_distribution_ms": {f"p{p}": percentile(latencies, p) for p in PERCENTILES},
            "histogram": histogram(latencies),
            "status_code_distribution": self.status_distribution(),
            "error_distribution": dict(self.errors.most_common()),
            "stages": self.legs(),
        }
        if (transcripts := self.transcripts()) is not None:
            out["transcripts"] = transcripts
        return out


def histogram(sorted_ms: list[float], buckets: int = 10) -> list[dict[str, float]]:
    if not sorted_ms:
        return []
    low, high = sorted_ms[0], sorted_ms[-1]
    width = (high - low) / buckets or 1.0
    counts = [0] * buckets
    for value in sorted_ms:
        counts[min(buckets - 1, int((value - low) / width))] += 1
    return [
        {"mark_ms": low + width * (i + 1), "count": c, "frequency": c / len(sorted_ms)} for i, c in enumerate(counts)
    ]


def print_summary(report: Report) -> None:
    d = report.to_dict()
    print("\nSummary:")
    print(
        f"  Workload:\t{d['workload']}, {d['concurrency']} sessions"
        + (f", -r {d['rate_limit_rps']:g}" if d["rate_limit_rps"] else "")
    )
    print(f"  Latency:\t{d['latency']}")
    print(f"  Count:\t{d['count']}")
    print(f"  Total:\t{d['total_s']:.2f} s")
    print(f"  Slowest:\t{d['slowest_ms']:.2f} ms")
    print(f"  Fastest:\t{d['fastest_ms']:.2f} ms")
    print(f"  Average:\t{d['average_ms']:.2f} ms")
    print(f"  Requests/sec:\t{d['rps']:.2f}")
    print("\nResponse time histogram:")
    peak = max((b["count"] for b in d["histogram"]), default=1) or 1
    for bucket in d["histogram"]:
        bar = "∎" * round(40 * bucket["count"] / peak)
        print(f"  {bucket['mark_ms']:9.3f} [{int(bucket['count'])}]\t|{bar}")
    print("\nLatency distribution:")
    for p in PERCENTILES:
        print(f"  {p} % in {d['latency_distribution_ms'][f'p{p}']:.2f} ms")
    print("\nStatus code distribution:")
    for status, count in d["status_code_distribution"].items():
        print(f"  [{status}]\t{count} responses")
    if d["error_distribution"]:
        print("\nError distribution:")
        for message, count in d["error_distribution"].items():
            print(f"  [{count}]\t{message}")
    if "transcripts" in d:
        t = d["transcripts"]
        print(f"\nTranscripts:\t{t['heard_as_said']} of {t['spoken']} heard exactly as said")
        for misheard, count in t["misheard"].items():
            print(f"  [{count}]\t{misheard}")
    if d["stages"]:
        print("\nPer-stage breakdown (ms):")
        print(f"  {'leg':56} {'avg':>8} {'p50':>8} {'p95':>8} {'p99':>8}")
        for name, leg in d["stages"].items():
            print(
                f"  {name:56} {leg['average_ms']:8.2f} {leg['p50_ms']:8.2f} {leg['p95_ms']:8.2f} {leg['p99_ms']:8.2f}"
            )


def write_png(report: Report, path: str, peer: Report | None = None, target_ms: float = 0.0) -> None:
    """Latency histogram with p50/p95/p99 marked (matplotlib, no display needed).

    `peer`, when given, is drawn as a dark outline on the same bins (e.g. the ASR alone on
    the same audio, so the gateway's share shows as the gap); `target_ms` as a black line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latencies = sorted(s.latency_s * 1000 for s in report.samples)
    peer_latencies = sorted(s.latency_s * 1000 for s in peer.samples) if peer else []
    everything = latencies + peer_latencies
    bins = (
        60
        if not everything
        else [min(everything) + i * (max(everything) - min(everything) or 1) / 60 for i in range(61)]
    )
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.hist(
        latencies,
        bins=bins,
        color="#3b7dd8",
        label=f"{report.latency_label} ({len(latencies)})" if peer_latencies else None,
    )
    if peer is not None and peer_latencies:  # an outline on top, so neither hides the other
        ax.hist(
            peer_latencies,
            bins=bins,
            histtype="step",
            color="#333333",
            linewidth=1.4,
            label=f"{peer.workload}: {peer.latency_label} ({len(peer_latencies)})",
        )
    for p, color in ((50, "#2a9d4b"), (95, "#e08a00"), (99, "#d62728")):
        value = percentile(latencies, p)
        ax.axvline(value, color=color, linestyle="--", label=f"p{p} {value:.1f} ms")
    if target_ms:
        ax.axvline(target_ms, color="black", linewidth=1.5, label=f"target {target_ms:g} ms")
    d = report.to_dict()
    ax.set_title(
        f"shopvoice loadtest: {d['count']} commands, {d['rps']:.3g} rps, {report.concurrency} sessions\n"
        f"{d['workload']}",
        fontsize=10,
    )
    ax.set_xlabel(f"{report.latency_label} (ms)")
    ax.set_ylabel("commands")
    ax.legend(fontsize=8, loc="upper right", framealpha=0.8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)  # `--png .run/x.png` on a fresh clone
    fig.savefig(path)
    plt.close(fig)
