"""The form every line of a merchant evaluation set keeps: docs/design.md's typed command JSON,
the demo shop's products, and the tags eval/merchant/README.md lists.

    python -m eval.form FILE PREFIX FIRST [--naming]   # e.g. eval/merchant/commands4.jsonl c4 1

Checks the JSON form only, never whether shopvoice understands a line, so a set's writers may
run it while they write blind (eval/merchant/README.md, "Writing a new set"). tests/eval/test_sets.py
holds every committed set to the same checks.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from eval import score

DEMO_SHOP = Path(__file__).resolve().parent.parent / "shopvoice_cli" / "demo_shop.yaml"
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


# A SKU of the demo shop said in a line (a naming line must name its products without one).
SAID_SKU = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(sorted(CATALOG, key=len, reverse=True)) + r")(?![0-9])", re.I)


def contract_errors(case: dict[str, Any]) -> list[str]:
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


def line_errors(case: dict[str, Any], naming: bool = False) -> list[str]:
    """Everything wrong with one line's form ([] when none); ``naming``: a line of a naming slice."""
    try:
        errors = [] if set(case) <= {"id", "lang", "text", "expect", "tags", "note"} else ["keys beyond the README's"]
        if not set(case["expect"]) <= {"intent", "slots", "candidates"}:
            errors.append("expect keys beyond intent, slots, candidates")
        errors += contract_errors(case)
        if (case["lang"] == "zh") != bool(CJK.search(case["text"])):
            errors.append("lang: zh for a line with Chinese in it, en otherwise")
        tags = case["tags"]
        if not set(tags) <= TAGS or len(tags) != len(set(tags)):
            errors.append(f"tags repeated or not among {sorted(TAGS)}")
        if score.family_of(case["expect"]["intent"]) not in tags:
            errors.append(f"the intent family's tag is missing: {score.family_of(case['expect']['intent'])}")
        if ("ambiguous" in tags) != ("candidates" in case["expect"]):
            errors.append("the ambiguous tag goes with candidates, and only with them")
        if ("not-a-command" in tags) != (case["expect"]["intent"] == "unknown"):
            errors.append("the not-a-command tag goes with unknown, and only with it")
        if naming and SAID_SKU.search(case["text"].replace(" ", "")):
            errors.append("a naming line says a SKU")
        if naming and not NAMING_TAGS & set(tags):
            errors.append(f"a naming line is tagged with one of {sorted(NAMING_TAGS)}")
    except (KeyError, TypeError, AttributeError) as exc:
        errors = [f"not a line of the README's form: {exc!r}"]
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check the form of an evaluation set's lines (not understanding).")
    parser.add_argument("file", type=Path)
    parser.add_argument("prefix", help="the set's id prefix, e.g. c4")
    parser.add_argument("first", type=int, help="the number of the file's first id, e.g. 1 or 201")
    parser.add_argument("--naming", action="store_true", help="a naming slice: no SKU said, a naming tag on each line")
    args = parser.parse_args(argv)
    lines = [line for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    bad = 0
    cases: list[dict[str, Any]] = []
    for n, line in enumerate(lines):
        expected_id = f"{args.prefix}-{args.first + n:03d}"
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            case, errors = None, [f"not JSON: {exc}"]
        else:
            errors = line_errors(case, args.naming) if isinstance(case, dict) else ["not a JSON object"]
        if isinstance(case, dict):
            cases.append(case)
            if case.get("id") != expected_id:
                errors.append(f"the id should be {expected_id}")
        if errors:
            bad += 1
            print(f"{expected_id}: " + "; ".join(errors))
    texts = Counter(case.get("text") for case in cases)
    twice = [text for text, count in texts.items() if count > 1]
    if twice:
        bad += 1
        print(f"said twice: {twice}")
    langs = Counter(case.get("lang") for case in cases)
    print(f"{len(lines)} lines, {bad} with problems; zh {langs['zh']}, en {langs['en']}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
