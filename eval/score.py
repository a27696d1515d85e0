"""Score shopvoice's understanding against an evaluation set.

    python -m eval.score SET.jsonl OUTPUT.jsonl [--errors]

SET.jsonl is one of eval/merchant/*.jsonl; OUTPUT.jsonl holds one JSON object per SET line, in
order, as `shopvoice say --json --dry-run -` prints them ({"intent", "slots", optional
"candidates", "source", ...}). A line passes when its typed command is exactly the expected one
(eval/README.md, "Scoring"). Standard library only, so it runs anywhere the output file is.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The intents of docs/design.md's contract, grouped the way the sets are stratified and reported.
FAMILIES: dict[str, str] = {
    "set_price": "price",
    "adjust_price": "price",
    "set_stock": "stock",
    "adjust_stock": "stock",
    "query_stock": "stock",
    "low_stock": "stock",
    "query_product": "product",
    "create_product": "product",
    "set_product_status": "product",
    "set_product_fact": "product",
    "list_products": "product",
    "bulk_set_price": "bulk",
    "bulk_adjust_price": "bulk",
    "bulk_set_stock": "bulk",
    "bulk_adjust_stock": "bulk",
    "confirm_order": "order",
    "ship_order": "order",
    "cancel_order": "order",
    "refund_order": "order",
    "query_order": "order",
    "list_orders": "order",
    "sales_report": "report",
    "export_report": "report",
    "set_guardrail": "guardrail",
    "query_guardrail": "guardrail",
    "undo": "dialogue",
    "confirm": "dialogue",
    "cancel": "dialogue",
    "unknown": "unknown",
}


class ScoreError(Exception):
    """The inputs cannot be scored (unreadable, or the two files do not line up)."""


def family_of(intent: str) -> str:
    return FAMILIES.get(intent, "unknown")


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every non-blank line of `path` as a JSON object; a clear error naming the line otherwise."""
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as e:
                raise ScoreError(f"{path}:{number}: not JSON ({e.msg})") from e
            if not isinstance(row, dict):
                raise ScoreError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            rows.append(row)
    return rows


def passes(expect: dict[str, Any], got: dict[str, Any]) -> bool:
    """Whether `got` (one output line) is the command `expect` asks for.

    - `unknown` passes on the intent alone (its text is whatever was said).
    - Otherwise the intent and the slots must be equal exactly: same keys, same JSON types and
      values ("99.00" is not "99.0", 50 is not "50", a list keeps its order).
    - Where `expect` lists candidates (an ambiguous name), the system must list the same set and
      choose none of them: every slot but `sku` must match, and `sku`, if present, must not be
      one of the candidates (it holds the name as said).
    - Candidates where none were expected mean the system asked instead of acting: a miss.
    """
    intent: str = expect["intent"]
    want_slots: dict[str, Any] = expect["slots"]
    if got.get("intent") != intent:
        return False
    if intent == "unknown":
        return True
    got_slots = got.get("slots")
    if not isinstance(got_slots, dict):
        return False
    got_candidates = got.get("candidates") or []
    want_candidates = expect.get("candidates")
    if want_candidates is None:
        return not got_candidates and got_slots == want_slots
    if not isinstance(got_candidates, list) or sorted(map(str, got_candidates)) != sorted(want_candidates):
        return False
    if got_slots.get("sku") in want_candidates:
        return False
    return {k: v for k, v in got_slots.items() if k != "sku"} == want_slots


@dataclass
class Tally:
    """Lines seen and lines passed, for one group."""

    total: int = 0
    passed: int = 0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.passed += ok

    @property
    def accuracy(self) -> float:
        return self.passed / self.total if self.total else 0.0


@dataclass
class Report:
    """Accuracy overall and per group, and the misses."""

    overall: Tally = field(default_factory=Tally)
    by_group: dict[str, dict[str, Tally]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Tally)))
    misses: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)


def score(cases: Sequence[dict[str, Any]], outputs: Sequence[dict[str, Any]]) -> Report:
    if len(cases) != len(outputs):
        raise ScoreError(
            f"{len(cases)} set lines but {len(outputs)} output lines: the output must hold one line per input line, in order"
        )
    report = Report()
    for case, got in zip(cases, outputs, strict=True):
        ok = passes(case["expect"], got)
        report.overall.add(ok)
        intent = case["expect"]["intent"]
        report.by_group["language"][case["lang"]].add(ok)
        report.by_group["intent family"][family_of(intent)].add(ok)
        report.by_group["intent"][intent].add(ok)
        for tag in case.get("tags", []):
            report.by_group["tag"][tag].add(ok)
        if "source" in got:
            report.by_group["source"][str(got["source"])].add(ok)
        if not ok:
            report.misses.append((case, got))
    return report


def _row(name: str, tally: Tally, of: int | None = None) -> str:
    share = f"  {tally.total / of:6.1%} of lines" if of else ""
    return f"  {name:<22} {tally.passed:>4}/{tally.total:<4} {tally.accuracy:6.1%}{share}"


def render(report: Report, errors: bool) -> Iterable[str]:
    yield f"exact typed command: {report.overall.passed}/{report.overall.total} = {report.overall.accuracy:.1%}"
    for group in ("language", "intent family", "intent", "tag", "source"):
        tallies = report.by_group.get(group)
        if not tallies:
            continue
        yield ""
        yield f"by {group}" + ("  (accuracy, then share of all lines answered)" if group == "source" else "")
        for name in sorted(tallies):
            yield _row(name, tallies[name], report.overall.total if group == "source" else None)
    if errors:
        yield ""
        yield f"misses ({len(report.misses)})"
        for case, got in report.misses:
            yield f"  {case['id']}  {case['text']}"
            yield f"    expected {json.dumps(case['expect'], ensure_ascii=False, sort_keys=True)}"
            yield f"    got      {json.dumps(got, ensure_ascii=False, sort_keys=True)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("set", type=Path, help="an evaluation set (JSON Lines)")
    parser.add_argument("output", type=Path, help="the system's output, one JSON line per set line")
    parser.add_argument("--errors", action="store_true", help="print every miss as expected vs got")
    args = parser.parse_args(argv)
    try:
        report = score(read_jsonl(args.set), read_jsonl(args.output))
    except (OSError, ScoreError) as e:
        print(f"score: {e}", file=sys.stderr)
        return 2
    for line in render(report, args.errors):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
