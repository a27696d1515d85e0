"""What a load test measured, summarised the way ghz does, with per-stage timings.

A sample is one turn: its client-side latency, its status, and the stage
timings the result carried. Stages are wall-clock instants stamped by the
services (final_transcript at the gateway, parsed/dispatched/committed at the
NLU, delivered at the gateway); with the client's own send and receive times
they split a turn's latency into the legs below, so a slow run shows where the
time went.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

PERCENTILES = (10, 25, 50, 75, 90, 95, 99)
# (leg name, stage it starts at, stage it ends at); "sent"/"received" are the client's.
LEGS = (
    ("client → gateway", "sent", "final_transcript"),
    ("gateway → NLU parsed (queue + parse)", "final_transcript", "parsed"),
    ("parsed → dispatched (understood reply, permission)", "parsed", "dispatched"),
    ("dispatched → committed (owning service)", "dispatched", "committed"),
    ("committed → gateway (reply stream)", "committed", "delivered"),
    ("gateway → client", "delivered", "received"),
)


@dataclass
class Sample:
    latency_s: float
    status: str
    sent_ns: int
    received_ns: int
    timings: list[tuple[str, int]]
    done_at: float = field(default_factory=time.perf_counter)


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
    samples: list[Sample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
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
        values: dict[str, list[float]] = {name: [] for name, _a, _b in LEGS}
        for sample in self.samples:
            at = dict(sample.timings)
            at["sent"], at["received"] = sample.sent_ns, sample.received_ns
            for name, start, end in LEGS:
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
                    "p99_ms": percentile(legs, 99),
                }
        return out

    def to_dict(self) -> dict[str, Any]:
        latencies = sorted(s.latency_s * 1000 for s in self.samples)
        count = len(latencies)
        return {
            "workload": self.workload,
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
    if d["stages"]:
        print("\nPer-stage breakdown (ms):")
        print(f"  {'leg':50} {'avg':>8} {'p50':>8} {'p99':>8}")
        for name, leg in d["stages"].items():
            print(f"  {name:50} {leg['average_ms']:8.2f} {leg['p50_ms']:8.2f} {leg['p99_ms']:8.2f}")


def write_png(report: Report, path: str) -> None:
    """Latency histogram with the p50/p99 marked (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latencies = sorted(s.latency_s * 1000 for s in report.samples)
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    ax.hist(latencies, bins=60, color="#3b7dd8")
    for p, color in ((50, "#2a9d4b"), (99, "#d62728")):
        value = percentile(latencies, p)
        ax.axvline(value, color=color, linestyle="--", label=f"p{p} {value:.1f} ms")
    d = report.to_dict()
    ax.set_title(
        f"shopvoice loadtest: {d['workload']}, {d['count']} commands, {d['rps']:.0f} rps, {report.concurrency} sessions"
    )
    ax.set_xlabel("end-to-end latency (ms)")
    ax.set_ylabel("commands")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
