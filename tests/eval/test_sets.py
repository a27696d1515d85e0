"""The merchant evaluation sets keep docs/design.md's JSON form, name the demo shop's products,
and keep the proportions eval/README.md promises; their dev/test halves are what eval/split.py makes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from eval import score, split

EVAL_DIR = Path(split.__file__).resolve().parent

SETS_DIR = EVAL_DIR / "merchant"
DEMO_SHOP = EVAL_DIR.parent / "shopvoice_cli" / "demo_shop.yaml"
CATALOG = {p["sku"] for p in yaml.safe_load(DEMO_SHOP.read_text(encoding="utf-8"))["products"]}

MONEY = re.compile(r"^-?\d+\.\d{2}$")
PERCENT = re.compile(r"^-?\d+(\.\d+)?$")
ORDER_ID = re.compile(r"^\d+$")
CJK = re.compile(r"[\u3400-\u9fff]")
PERIODS = {
    "today", "yesterday", "last_7_days", "last_30_days", "this_week", "last_week", "this_month", "last_month", "this_year",
}  # fmt: skip
CARRIERS = {"SF", "YTO", "ZTO", "STO", "YUNDA", "EMS", "JD", "UPS", "FEDEX", "DHL", "USPS"}
FACTS = {
    "material", "capacity", "sizes", "fit", "care", "dimensions", "weight", "in_the_box", "battery", "waterproof",
    "warranty", "hot_drinks", "dishwasher", "laptop", "colour", "origin",
}  # fmt: skip
PRODUCT_STATUS = {"active", "draft", "archived"}


def _money(v: Any) -> bool:
    return isinstance(v, str) and bool(MONEY.match(v))


def _percent(v: Any) -> bool:
    return isinstance(v, str) and bool(PERCENT.match(v))


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _text(v: Any) -> bool:
    return isinstance(v, str) and v.strip() == v and bool(v)


def _catalog_sku(v: Any) -> bool:
    return v in CATALOG


def _one_of(values: set[str]) -> Any:
    return lambda v: v in values


def _skus(v: Any) -> bool:
    return isinstance(v, list) and len(v) >= 2 and all(s in CATALOG for s in v)


# The contract's table: each intent's slots, their form, and which of them are required.
# (`one_of` groups: exactly one must be present.)
ADJUST = {"percent": _percent, "delta": _money}
SELECT = {"query": _text, "status": _one_of(PRODUCT_STATUS), "skus": _skus}
CONTRACT: dict[str, tuple[dict[str, Any], set[str], set[str]]] = {
    # intent: (slot checks, required, one-of)
    "set_price": ({"sku": _catalog_sku, "price": _money}, {"sku", "price"}, set()),
    "adjust_price": ({"sku": _catalog_sku, **ADJUST}, {"sku"}, {"percent", "delta"}),
    "set_stock": ({"sku": _catalog_sku, "quantity": _int}, {"sku", "quantity"}, set()),
    "adjust_stock": ({"sku": _catalog_sku, "delta": _int}, {"sku", "delta"}, set()),
    "query_stock": ({"sku": _catalog_sku}, {"sku"}, set()),
    "query_product": ({"sku": _catalog_sku}, {"sku"}, set()),
    "create_product": (
        {"title": _text, "price": _money, "quantity": _int, "sku": lambda v: _text(v) and v == v.upper()},
        {"title", "price"},
        set(),
    ),
    "set_product_status": ({"sku": _catalog_sku, "status": _one_of(PRODUCT_STATUS)}, {"sku", "status"}, set()),
    "set_product_fact": (
        {"sku": _catalog_sku, "name": _one_of(FACTS), "value": _text},
        {"sku", "name", "value"},
        set(),
    ),
    "list_products": ({"query": _text, "status": _one_of(PRODUCT_STATUS)}, set(), set()),
    "low_stock": ({"threshold": _int}, set(), set()),
    "bulk_set_price": ({**SELECT, "price": _money}, {"price"}, set()),
    "bulk_adjust_price": ({**SELECT, **ADJUST}, set(), {"percent", "delta"}),
    "bulk_set_stock": ({**SELECT, "quantity": _int}, {"quantity"}, set()),
    "bulk_adjust_stock": ({**SELECT, "delta": _int}, {"delta"}, set()),
    "confirm_order": ({"order_id": ORDER_ID.match}, {"order_id"}, set()),
    "ship_order": (
        {"order_id": ORDER_ID.match, "carrier": _one_of(CARRIERS), "tracking_number": _text},
        {"order_id"},
        set(),
    ),
    "cancel_order": ({"order_id": ORDER_ID.match}, {"order_id"}, set()),
    "refund_order": (
        {"order_id": ORDER_ID.match, "amount": _money, "fraction": lambda v: v in {"0.5"}},
        {"order_id"},
        set(),
    ),
    "query_order": ({"order_id": ORDER_ID.match}, {"order_id"}, set()),
    "list_orders": (
        {"status": _one_of({"pending", "unfulfilled", "shipped", "refunded", "cancelled"}), "period": _one_of(PERIODS)},
        set(),
        set(),
    ),
    "sales_report": (
        {
            "metric": _one_of({"revenue", "orders", "units", "avg_rating", "top_products", "refunds"}),
            "period": _one_of(PERIODS),
            "sku": _catalog_sku,
            "compare_period": _one_of(PERIODS),
        },
        {"metric", "period"},
        set(),
    ),
    "export_report": (
        {"report": _one_of({"sales", "orders", "products"}), "period": _one_of(PERIODS)},
        {"report"},
        set(),
    ),
    "set_guardrail": (
        {"price_change_percent": _percent, "bulk_threshold": _int},
        set(),
        {"price_change_percent", "bulk_threshold"},
    ),
    "query_guardrail": ({}, set(), set()),
    "undo": ({"count": lambda v: _int(v) and v >= 1}, set(), set()),
    "confirm": ({}, set(), set()),
    "cancel": ({}, set(), set()),
    "unknown": ({}, set(), set()),
}
TAGS = {
    "mixed", "filler", "colloquial-number", "lowercase-sku", "spoken-sku", "title", "partial-name", "plural",
    "colour-kind", "ambiguous", "typo", "not-a-command",
} | set(score.FAMILIES.values())  # fmt: skip
NAMING_TAGS = {"title", "partial-name", "colour-kind"}


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
}
# The probes are dev-only and the fresh sets held out whole: only these have halves.
SPLIT_SETS = ["commands", "naming", "commands2", "naming2", "commands3", "naming3", "commands4", "naming4"]
ALL = [(name, case) for name, (_, cases) in SETS.items() for case in cases]


def _contract_errors(case: dict[str, Any]) -> list[str]:
    expect = case["expect"]
    intent = expect["intent"]
    if intent not in CONTRACT:
        return [f"intent {intent!r} is not in the contract"]
    checks, required, one_of = CONTRACT[intent]
    slots = expect["slots"]
    errors = [
        f"slot {k}={v!r} is not in {intent}'s form" for k, v in slots.items() if k not in checks or not checks[k](v)
    ]
    candidates = expect.get("candidates")
    if candidates is not None:
        if candidates != sorted(set(candidates)) or len(candidates) < 2 or not set(candidates) <= CATALOG:
            errors.append(f"candidates {candidates!r}: two or more catalog SKUs, sorted")
        if "sku" in slots or "sku" not in checks:
            errors.append("an ambiguous line expects a product command without its sku")
        required = required - {"sku"}
    errors += [f"{intent} needs {k}" for k in required - slots.keys()]
    if one_of and len(one_of & slots.keys()) != 1 and not (intent == "set_guardrail" and one_of & slots.keys()):
        errors.append(f"{intent} needs one of {sorted(one_of)}")
    return errors


@pytest.mark.parametrize(("set_name", "case"), ALL, ids=[c["id"] for _, c in ALL])
def test_each_line_keeps_the_contracts_form(set_name: str, case: dict[str, Any]) -> None:
    assert set(case) <= {"id", "lang", "text", "expect", "tags", "note"}
    assert set(case["expect"]) <= {"intent", "slots", "candidates"}
    assert _contract_errors(case) == []
    assert (case["lang"] == "zh") == bool(CJK.search(case["text"])), "a line with Chinese in it is zh, others en"
    tags = case["tags"]
    assert set(tags) <= TAGS and len(tags) == len(set(tags))
    assert score.family_of(case["expect"]["intent"]) in tags
    assert ("ambiguous" in tags) == ("candidates" in case["expect"])
    assert ("not-a-command" in tags) == (case["expect"]["intent"] == "unknown")


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


@pytest.mark.parametrize("set_name", ["commands", "commands2", "commands3", "commands4"])
def test_at_least_thirty_percent_of_the_commands_naming_a_product_name_it_by_title(set_name: str) -> None:
    naming_a_product = [
        c
        for c in SETS[set_name][1]
        if c["expect"]["intent"] != "create_product"
        and ({"sku", "skus"} & c["expect"]["slots"].keys() or "candidates" in c["expect"])
    ]
    by_name = [c for c in naming_a_product if NAMING_TAGS & set(c["tags"])]
    assert len(by_name) / len(naming_a_product) >= 0.30


@pytest.mark.parametrize("set_name", ["naming", "naming2", "naming3", "naming4"])
def test_the_naming_slice_never_says_a_sku_and_asks_on_the_ambiguous_names(set_name: str) -> None:
    cases = SETS[set_name][1]
    said_sku = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(sorted(CATALOG, key=len, reverse=True)) + r")(?![0-9])", re.I)
    assert [c["id"] for c in cases if said_sku.search(c["text"].replace(" ", ""))] == []
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
