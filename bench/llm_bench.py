"""The NLU's LLM tail next to the grammar path, on the merchant dev sets, in one run.

    PYTHONPATH=. .venv/bin/python bench/llm_bench.py [--sets ...] [--limit N] [--threads T]

Starts the local LLM server exactly as `shopvoice up` does (shopvoice.llm_server: verified
pinned weights, llama.cpp) unless VLLM_URL names one, has it read the prompt's fixed prefix
once (the NLU does the same at start), then for every utterance of the sets, in order:
- the grammar path (normalise, parse) against the demo shop's vocabulary, timed;
- when the grammar is not confident (NLU_LLM_THRESHOLD), the NLU's LLM tail (LlmParser:
  candidates, prompt, schema, grounding), timed: one request per utterance, as the NLU sends it.

Prints per path p50/p95/max per utterance, the share of lines the LLM answered, and the exact
typed command (eval.score's rule) for the grammar alone and for grammar + LLM, both after the
NLU's own resolution of product names against the same vocabulary (offline: the live-stack
figure is `shopvoice say --json --dry-run`, docs/benchmarks.md). The machine's load average
is printed beside the latencies: on a shared 2-core machine it moves them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from eval.score import passes
from services.nlu.llm import LlmParser
from services.nlu.resolve import resolve
from shopvoice.grammar import Vocabulary, parse
from shopvoice.grammar.commands import command_to_json
from shopvoice.llm.config import LlmSettings
from shopvoice_cli.stack import wait_http

ROOT = Path(__file__).resolve().parents[1]
SETS = ("eval/merchant/commands.dev.jsonl", "eval/merchant/naming.dev.jsonl")
THRESHOLD = 0.8


def demo_vocabulary() -> Vocabulary:
    products = yaml.safe_load((ROOT / "shopvoice_cli" / "demo_shop.yaml").read_text())["products"]
    return Vocabulary([(p["sku"], p["title"]) for p in products] + [(p["sku"], p["title_en"]) for p in products])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextmanager
def local_server(threads: int) -> Iterator[str]:
    port = free_port()
    log_path = ROOT / ".run" / "bench-llm-server.log"
    log_path.parent.mkdir(exist_ok=True)
    env = {**os.environ, "LLM_PORT": str(port), "LLM_THREADS": str(threads)}
    with log_path.open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "shopvoice.llm_server"], env=env, stdout=log, stderr=log)
    try:
        if not wait_http(f"http://127.0.0.1:{port}/openapi.json", 300, lambda: process.poll() is None):
            raise SystemExit(f"the LLM server did not start; see {log_path}")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(20)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def as_output(command: Any, vocabulary: Vocabulary) -> dict[str, Any]:
    """What `say --json` would print for a first turn: resolved, candidates when several fit."""
    resolution = resolve(command, vocabulary)
    out = dict(command_to_json(resolution.command))
    if resolution.candidates:
        out["slots"] = {k: v for k, v in out["slots"].items() if k != "sku"}
        out["candidates"] = sorted(resolution.candidates)
    return out


def line(name: str, values: list[float], unit: str = "ms", scale: float = 1000) -> str:
    if not values:
        return f"  {name:<22} (none)"
    return (
        f"  {name:<22} n={len(values):<4} p50 {percentile(values, 0.5) * scale:8.2f} {unit}"
        f"  p95 {percentile(values, 0.95) * scale:8.2f} {unit}  max {max(values) * scale:8.2f} {unit}"
    )


async def run(args: argparse.Namespace, url: str, model: str) -> int:
    rows: list[dict[str, Any]] = []
    for path in args.sets:
        with (ROOT / path).open(encoding="utf-8") as f:
            rows += [json.loads(raw) for raw in f if raw.strip()][:: max(1, args.every)]
    if args.limit:
        rows = rows[: args.limit]
    vocabulary = demo_vocabulary()
    settings = LlmSettings(
        VLLM_URL=url,
        VLLM_MODEL=model,
        VLLM_TIMEOUT_S=args.deadline,
        VLLM_BREAKER_FAILURES=1000,
        VLLM_RESPONSE_FORMAT=os.environ.get("VLLM_RESPONSE_FORMAT", "json_object"),
    )
    parser = LlmParser(settings)
    print(f"{len(rows)} utterances from {', '.join(args.sets)}; LLM at {url}; load {load()}", flush=True)
    started = time.monotonic()
    await parser.warm()
    print(f"prefix read (first request) in {time.monotonic() - started:.1f} s; load {load()}", flush=True)

    grammar_s: list[float] = []
    llm_s: list[float] = []
    grammar_ok = combined_ok = by_llm = by_llm_ok = 0
    reasons: dict[str, int] = {}
    misses: list[str] = []
    load_before = load()
    for row in rows:
        text, expect = row["text"], row["expect"]
        t0 = time.perf_counter()
        parsed = parse(text, vocabulary)
        grammar_s.append(time.perf_counter() - t0)
        grammar_out = as_output(parsed.command, vocabulary)
        ok_grammar = passes(expect, grammar_out)
        grammar_ok += ok_grammar
        if parsed.confidence >= THRESHOLD:
            combined_ok += ok_grammar
            continue
        t0 = time.perf_counter()
        answer = await parser.parse(text, parsed.command, vocabulary)
        llm_s.append(time.perf_counter() - t0)
        reasons[answer.reason.split(":", 1)[0]] = reasons.get(answer.reason.split(":", 1)[0], 0) + 1
        used = answer.command if answer.source == "llm" else parsed.command
        out = as_output(used, vocabulary)
        ok = passes(expect, out)
        combined_ok += ok
        by_llm += answer.source == "llm"
        by_llm_ok += ok and answer.source == "llm"
        if not ok and args.errors:
            misses.append(
                f"  {row['id']} {text!r}\n      want {json.dumps(expect, ensure_ascii=False)}\n      got  {json.dumps(out, ensure_ascii=False)} ({answer.reason}{', dropped ' + ','.join(answer.dropped) if answer.dropped else ''})"
            )
    await parser.close()
    n = len(rows)
    print(f"\nper utterance (load during the run {load_before} -> {load()}, 1/5/15 min, {os.cpu_count()} CPUs):")
    print(line("grammar path", grammar_s))
    print(line("LLM tail (sent to it)", llm_s, "s", 1))
    print(f"\nanswered by the LLM: {by_llm}/{n} = {by_llm / n:.1%} (sent to it: {len(llm_s)}; outcomes {reasons})")
    print(f"exact typed command, grammar alone:  {grammar_ok}/{n} = {grammar_ok / n:.1%}")
    print(f"exact typed command, grammar + LLM:  {combined_ok}/{n} = {combined_ok / n:.1%}")
    if by_llm:
        print(f"  of the LLM's answers: {by_llm_ok}/{by_llm} = {by_llm_ok / by_llm:.1%} exact")
    if misses:
        print("\nmisses after the LLM:\n" + "\n".join(misses))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(SETS), help="eval JSONL files (dev halves only)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N utterances")
    parser.add_argument("--every", type=int, default=1, help="every Nth utterance of each set (a sample)")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("LLM_THREADS", "2")))
    parser.add_argument("--deadline", type=float, default=30.0, help="VLLM_TIMEOUT_S for the run (s)")
    parser.add_argument("--errors", action="store_true", help="print the misses after the LLM")
    args = parser.parse_args()
    if any(".test." in s for s in args.sets):
        raise SystemExit("the test halves are scored once, by the lead, never benchmarked")
    if url := os.environ.get("VLLM_URL"):
        return asyncio.run(run(args, url, os.environ.get("VLLM_MODEL", "")))
    with local_server(args.threads) as url:
        return asyncio.run(run(args, url, os.environ.get("LLM_MODEL_ALIAS", "qwen2.5-coder-1.5b-instruct")))


if __name__ == "__main__":
    sys.exit(main())
