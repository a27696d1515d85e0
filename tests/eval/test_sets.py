"""The merchant evaluation sets keep docs/design.md's JSON form, name the demo shop's products,
and keep the proportions eval/README.md promises; their dev/test halves are what eval/split.py makes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from eval import split
from eval.form import CONTRACT, NAMING_TAGS, PERIODS, SAID_SKU, line_errors

EVAL_DIR = Path(split.__file__).resolve().parent

SETS_DIR = EVAL_DIR / "merchant"


def _read(name: str) -> list[dict[str, Any]]:
    path = SETS_DIR / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


SETS = {
    "commands": ("cmd", _read("commands")),
    "naming": ("name", _read("naming")),
    "probe": ("probe", _read("probe")),
    "fresh": ("fresh", _read("fresh")),
    "probe2": ("p2", _read("probe2")),
    "probe3": ("p3", _read("probe3")),
    "fresh2": ("f2", _read("fresh2")),
    "probe4": ("p4", _read("probe4")),
    "probe5": ("p5", _read("probe5")),
    "fresh3": ("f3", _read("fresh3")),
    "probe6": ("p6", _read("probe6")),
    "fresh4": ("f4", _read("fresh4")),
    "commands2": ("c2", _read("commands2")),
    "naming2": ("n2", _read("naming2")),
    "commands3": ("c3", _read("commands3")),
    "naming3": ("n3", _read("naming3")),
    "commands4": ("c4", _read("commands4")),
    "naming4": ("n4", _read("naming4")),
    "commands5": ("c5", _read("commands5")),
    "naming5": ("n5", _read("naming5")),
}
# The probes are dev-only and the fresh sets held out whole: only these have halves.
SPLIT_SETS = [
    "commands",
    "naming",
    "commands2",
    "naming2",
    "commands3",
    "naming3",
    "commands4",
    "naming4",
    "commands5",
    "naming5",
]
ALL = [(name, case) for name, (_, cases) in SETS.items() for case in cases]


@pytest.mark.parametrize(("set_name", "case"), ALL, ids=[c["id"] for _, c in ALL])
def test_each_line_keeps_the_contracts_form(set_name: str, case: dict[str, Any]) -> None:
    assert line_errors(case) == []


@pytest.mark.parametrize("set_name", SETS)
def test_ids_are_unique_and_numbered_in_order(set_name: str) -> None:
    prefix, cases = SETS[set_name]
    assert [c["id"] for c in cases] == [f"{prefix}-{i:03d}" for i in range(1, len(cases) + 1)]
    assert len({c["text"] for c in cases}) == len(cases), "no line twice"


@pytest.mark.parametrize(
    ("set_name", "minimum"),
    [
        ("commands", 440),
        ("naming", 120),
        ("commands2", 400),
        ("naming2", 100),
        ("commands3", 400),
        ("naming3", 100),
        ("commands4", 400),
        ("naming4", 100),
        ("commands5", 400),
        ("naming5", 100),
    ],
)
def test_each_set_is_large_enough_and_half_chinese_half_english(set_name: str, minimum: int) -> None:
    cases = SETS[set_name][1]
    langs = Counter(c["lang"] for c in cases)
    assert len(cases) >= minimum
    assert abs(langs["zh"] - langs["en"]) <= 2, langs


def test_commands_cover_every_intent_and_about_five_percent_are_not_commands() -> None:
    cases = SETS["commands"][1]
    intents = Counter(c["expect"]["intent"] for c in cases)
    assert set(intents) == set(CONTRACT)
    assert 0.04 <= intents["unknown"] / len(cases) <= 0.07
    periods = {c["expect"]["slots"].get(k) for c in cases for k in ("period", "compare_period")}
    assert periods >= PERIODS
    reports = [c["expect"]["slots"] for c in cases if c["expect"]["intent"] == "sales_report"]
    assert {"refunds"} <= {s["metric"] for s in reports} and any("compare_period" in s for s in reports)
    bulk = [c["expect"]["slots"] for c in cases if c["expect"]["intent"].startswith("bulk_")]
    assert all(any(k in s for s in bulk) for k in ("query", "status", "skus"))
    assert any("count" in c["expect"]["slots"] for c in cases if c["expect"]["intent"] == "undo")


@pytest.mark.parametrize("set_name", ["commands", "commands2", "commands3", "commands4", "commands5"])
def test_at_least_thirty_percent_of_the_commands_naming_a_product_name_it_by_title(set_name: str) -> None:
    naming_a_product = [
        c
        for c in SETS[set_name][1]
        if c["expect"]["intent"] != "create_product"
        and ({"sku", "skus"} & c["expect"]["slots"].keys() or "candidates" in c["expect"])
    ]
    by_name = [c for c in naming_a_product if NAMING_TAGS & set(c["tags"])]
    assert len(by_name) / len(naming_a_product) >= 0.30


@pytest.mark.parametrize("set_name", ["naming", "naming2", "naming3", "naming4", "naming5"])
def test_the_naming_slice_never_says_a_sku_and_asks_on_the_ambiguous_names(set_name: str) -> None:
    cases = SETS[set_name][1]
    assert [c["id"] for c in cases if SAID_SKU.search(c["text"].replace(" ", ""))] == []
    assert all(NAMING_TAGS & set(c["tags"]) for c in cases)
    ambiguous = Counter(c["lang"] for c in cases if "candidates" in c["expect"])
    assert ambiguous["en"] >= 10 and ambiguous["zh"] >= 10


@pytest.mark.parametrize("set_name", SPLIT_SETS)
def test_the_halves_are_disjoint_cover_the_set_and_balance_each_stratum(set_name: str) -> None:
    cases = SETS[set_name][1]
    dev, test = _read(f"{set_name}.dev"), _read(f"{set_name}.test")
    assert sorted(c["id"] for c in dev + test) == [c["id"] for c in cases]
    strata = Counter(split.stratum(json.dumps(c)) for c in cases)
    in_test = Counter(split.stratum(json.dumps(c)) for c in test)
    for key, n in strata.items():
        assert in_test[key] in {n // 2, (n + 1) // 2}, key


def test_the_committed_halves_are_what_split_py_writes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "eval.split", "--check"], cwd=EVAL_DIR.parent, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_split_is_a_pure_function_of_the_lines() -> None:
    lines = (SETS_DIR / "naming.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    assert split.split("merchant/naming", lines) == split.split("merchant/naming", list(lines))
    assert split.split("merchant/naming", lines) != split.split("merchant/commands", lines), (
        "the set's name is part of the seed"
    )
