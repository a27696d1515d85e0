"""Check the spoken evaluation sets against the typed-command contract and the demo catalog.

Run after editing any of the JSON Lines files here: `python -m eval.spoken.check`.
It checks what a hand edit gets wrong: duplicate ids, an intent or slot the contract
(docs/design.md) does not have, a value in the wrong format, a SKU the demo shop does not
sell, a product line without its naming tag, a non-speech spec whose sox arguments
disagree with its duration or amplitude, and dev/test halves that are not a partition
of the full set. Standard library only.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CATALOG = HERE.parents[1] / "shopvoice_cli" / "demo_shop.yaml"

MONEY = re.compile(r"^-?\d+\.\d{2}$")
DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
DIGITS = re.compile(r"^\d+$")
SKU = re.compile(r"^[A-Z][A-Z0-9]*\d[A-Z0-9]*$")

PERIODS = {
    "today",
    "yesterday",
    "last_7_days",
    "last_30_days",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_year",
}
STATUSES = {"active", "draft", "archived"}
ORDER_STATUSES = {"pending", "unfulfilled", "shipped", "refunded", "cancelled"}
METRICS = {"revenue", "orders", "units", "avg_rating", "top_products", "refunds"}
REPORTS = {"sales", "orders", "products"}
CARRIERS = {"SF", "YTO", "ZTO", "STO", "YUNDA", "EMS", "JD", "UPS", "FEDEX", "DHL", "USPS"}
FACT_NAMES = {
    "material",
    "capacity",
    "sizes",
    "fit",
    "care",
    "dimensions",
    "weight",
    "in_the_box",
    "battery",
    "waterproof",
    "warranty",
    "hot_drinks",
    "dishwasher",
    "laptop",
    "colour",
    "origin",
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_str(value: object) -> bool:
    return isinstance(value, str) and value.strip() == value and value != ""


def _money(value: object) -> bool:
    return isinstance(value, str) and MONEY.match(value) is not None


def _decimal(value: object) -> bool:
    return isinstance(value, str) and DECIMAL.match(value) is not None


def _order_id(value: object) -> bool:
    return isinstance(value, str) and DIGITS.match(value) is not None


def _one_of(allowed: set[str]) -> Callable[[object], bool]:
    return lambda value: value in allowed


def _skus(value: object) -> bool:
    return isinstance(value, list) and len(value) >= 2 and all(isinstance(s, str) and SKU.match(s) for s in value)


Check = Callable[[object], bool]
SELECTION: dict[str, Check] = {"query": _is_str, "status": _one_of(STATUSES), "skus": _skus}

# intent -> (slot checks, slots that must be present, groups of which exactly one must be present)
INTENTS: dict[str, tuple[dict[str, Check], set[str], list[set[str]]]] = {
    "set_price": ({"sku": _is_str, "price": _money}, {"price"}, []),
    "adjust_price": ({"sku": _is_str, "percent": _decimal, "delta": _money}, set(), [{"percent", "delta"}]),
    "set_stock": ({"sku": _is_str, "quantity": _is_int}, {"quantity"}, []),
    "adjust_stock": ({"sku": _is_str, "delta": _is_int}, {"delta"}, []),
    "query_stock": ({"sku": _is_str}, set(), []),
    "query_product": ({"sku": _is_str}, set(), []),
    "create_product": (
        {"title": _is_str, "price": _money, "quantity": _is_int, "sku": _is_str},
        {"title", "price"},
        [],
    ),
    "set_product_status": ({"sku": _is_str, "status": _one_of(STATUSES)}, {"status"}, []),
    "set_product_fact": ({"sku": _is_str, "name": _one_of(FACT_NAMES), "value": _is_str}, {"name", "value"}, []),
    "list_products": ({"query": _is_str, "status": _one_of(STATUSES)}, set(), []),
    "low_stock": ({"threshold": _is_int}, set(), []),
    "bulk_set_price": ({**SELECTION, "price": _money}, {"price"}, []),
    "bulk_adjust_price": ({**SELECTION, "percent": _decimal, "delta": _money}, set(), [{"percent", "delta"}]),
    "bulk_set_stock": ({**SELECTION, "quantity": _is_int}, {"quantity"}, []),
    "bulk_adjust_stock": ({**SELECTION, "delta": _is_int}, {"delta"}, []),
    "confirm_order": ({"order_id": _order_id}, {"order_id"}, []),
    "ship_order": (
        {"order_id": _order_id, "carrier": _one_of(CARRIERS), "tracking_number": _is_str},
        {"order_id"},
        [],
    ),
    "cancel_order": ({"order_id": _order_id}, {"order_id"}, []),
    "refund_order": (
        {"order_id": _order_id, "amount": _money, "fraction": _decimal},
        {"order_id"},
        [],
    ),
    "query_order": ({"order_id": _order_id}, {"order_id"}, []),
    "list_orders": ({"status": _one_of(ORDER_STATUSES), "period": _one_of(PERIODS)}, set(), []),
    "sales_report": (
        {
            "metric": _one_of(METRICS),
            "period": _one_of(PERIODS),
            "sku": _is_str,
            "compare_period": _one_of(PERIODS),
        },
        {"metric", "period"},
        [],
    ),
    "export_report": ({"report": _one_of(REPORTS), "period": _one_of(PERIODS)}, {"report"}, []),
    "set_guardrail": ({"price_change_percent": _decimal, "bulk_threshold": _is_int}, set(), []),
    "query_guardrail": ({}, set(), []),
    "undo": ({"count": _is_int}, set(), []),
    "confirm": ({}, set(), []),
    "cancel": ({}, set(), []),
}
PRODUCT_INTENTS = {
    "set_price",
    "adjust_price",
    "set_stock",
    "adjust_stock",
    "query_stock",
    "query_product",
    "set_product_status",
    "set_product_fact",
}
NAMING_TAGS = {"sku", "name", "ambiguous"}

NON_COMMAND_KINDS = {"chatter", "question_to_other", "command_like", "other_language", "non_speech"}
OTHER_VOICES = {"de": "de", "fr": "fr-fr", "es": "es", "it": "it", "pt": "pt", "ja": "ja", "hi": "hi", "ru": "ru"}
OTHER_VOICES["zh"] = "cmn-latn-pinyin"
SOUNDS = {
    "whitenoise",
    "pinknoise",
    "brownnoise",
    "hum",
    "tone",
    "dual_tone",
    "beeps",
    "clicks",
    "silence",
    "tone_sequence",
    "sweep",
}


def catalog_skus(path: Path = CATALOG) -> list[str]:
    """The demo shop's SKUs, read without a YAML library: each product starts with `- sku: X`."""
    return re.findall(r"^\s*- sku: (\S+)\s*$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            raise ValueError(f"{path.name}:{number}: empty line")
        rows.append(json.loads(line))
    return rows


def expect_problems(expect: dict[str, Any], tags: Iterable[str], catalog: set[str]) -> list[str]:
    """What is wrong with one command's expected output, as messages."""
    problems: list[str] = []
    intent, slots = expect.get("intent"), expect.get("slots")
    if set(expect) - {"intent", "slots", "candidates"}:
        problems.append(f"unexpected keys {sorted(set(expect) - {'intent', 'slots', 'candidates'})}")
    if intent not in INTENTS or not isinstance(slots, dict):
        return [*problems, f"unknown intent {intent!r} or slots not an object"]
    checks, required, exactly_one = INTENTS[intent]
    for name, value in slots.items():
        if name not in checks:
            problems.append(f"{intent} has no slot {name!r}")
        elif not checks[name](value):
            problems.append(f"{intent}.{name} = {value!r} is not in the contract's format")
    problems += [f"{intent} needs {name!r}" for name in sorted(required - set(slots))]
    problems += [f"{intent} needs exactly one of {sorted(g)}" for g in exactly_one if len(g & set(slots)) != 1]
    candidates = expect.get("candidates")
    tags = set(tags)
    if candidates is not None:
        if "sku" in slots or "ambiguous" not in tags:
            problems.append("candidates go with no sku slot and the 'ambiguous' tag")
        if not (isinstance(candidates, list) and len(candidates) >= 2 and set(candidates) <= catalog):
            problems.append(f"candidates {candidates!r} are not two or more catalog SKUs")
    sku = slots.get("sku")
    if intent == "create_product":
        if sku is not None and sku in catalog:
            problems.append(f"create_product with an existing SKU {sku}")
    elif sku is not None and sku not in catalog:
        problems.append(f"sku {sku!r} is not in the demo catalog")
    for listed in slots.get("skus", []):
        if listed not in catalog:
            problems.append(f"skus lists {listed!r}, not in the demo catalog")
    naming = NAMING_TAGS & tags
    if intent in PRODUCT_INTENTS and len(naming) != 1:
        problems.append(f"a product command needs exactly one of the tags {sorted(NAMING_TAGS)}, has {sorted(naming)}")
    if "sku" in slots and intent != "create_product" and naming not in ({"sku"}, {"name"}):
        problems.append("a resolved sku slot needs the tag 'sku' or 'name'")
    return problems


def non_speech_problems(spec: dict[str, Any]) -> list[str]:
    """The spec's duration and amplitude must be what its sox arguments make."""
    problems: list[str] = []
    if spec.get("sound") not in SOUNDS:
        problems.append(f"unknown sound {spec.get('sound')!r}")
    args = spec.get("sox")
    duration, amplitude = spec.get("duration_s"), spec.get("amplitude")
    if not (isinstance(args, list) and all(isinstance(a, str) for a in args) and args and args[0] == "synth"):
        return [*problems, "sox must be a list of strings starting with 'synth'"]
    if not (isinstance(duration, float) and 1.0 <= duration <= 4.0):
        problems.append(f"duration_s {duration!r} is not 1 to 4 seconds")
    chains: list[list[str]] = [[]]  # one list per ':'-separated effect chain
    for arg in args:
        if arg == ":":
            chains.append([])
        else:
            chains[-1].append(arg)
    total = 0.0
    for chain in chains:
        total += float(chain[chain.index("synth") + 1])
        if "pad" in chain:
            at = chain.index("pad")
            total += float(chain[at + 1]) + float(chain[at + 2])
        volumes = [float(chain[i + 1]) for i, a in enumerate(chain) if a == "vol"]
        if volumes != [amplitude]:
            problems.append(f"each chain needs one 'vol {amplitude}', found {volumes}")
    if isinstance(duration, float) and abs(total - duration) > 1e-6:
        problems.append(f"sox arguments make {total:g} s, duration_s says {duration:g}")
    return problems


def non_command_problems(row: dict[str, Any]) -> list[str]:
    kind = row.get("kind")
    if kind not in NON_COMMAND_KINDS:
        return [f"unknown kind {kind!r}"]
    if kind == "non_speech":
        if "text" in row or not isinstance(row.get("spec"), dict):
            return ["non_speech needs a spec and no text"]
        return non_speech_problems(row["spec"])
    if not _is_str(row.get("text")) or "spec" in row:
        return [f"{kind} needs a text and no spec"]
    if kind == "other_language":
        language = str(row.get("language"))
        if OTHER_VOICES.get(language) != row.get("voice") or not _is_str(row.get("gloss")):
            return [f"other_language needs a known language, its voice and a gloss: {language!r} {row.get('voice')!r}"]
    elif "voice" in row:
        return ["English clips take their voice from the builder's rotation, not the file"]
    return []


def check_ids(rows: list[dict[str, Any]], prefix: str) -> list[str]:
    ids = [str(row.get("id")) for row in rows]
    problems = [f"duplicate id {i}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    return problems + [f"bad id {i!r}" for i in ids if not re.fullmatch(prefix + r"-\d{3}", i)]


def check_split(full: Path) -> list[str]:
    """dev and test hold every line of the full file exactly once, unchanged."""
    dev, test = full.with_suffix(".dev.jsonl"), full.with_suffix(".test.jsonl")
    if not (dev.exists() and test.exists()):
        return [f"{full.name}: the dev/test halves are missing; run eval/split.py"]
    lines = full.read_text(encoding="utf-8").splitlines()
    halves = dev.read_text(encoding="utf-8").splitlines() + test.read_text(encoding="utf-8").splitlines()
    if sorted(lines) != sorted(halves):
        return [f"{full.name}: dev + test differ from the full set; rerun eval/split.py"]
    return []


def main() -> int:
    catalog = set(catalog_skus())
    problems: list[str] = []
    commands = read_jsonl(HERE / "commands.jsonl")
    problems += [f"commands: {p}" for p in check_ids(commands, "sp")]
    for row in commands:
        if set(row) != {"id", "text", "expect", "tags"} or not _is_str(row.get("text")):
            problems.append(f"{row.get('id')}: needs exactly id, text, expect, tags")
            continue
        problems += [f"{row['id']}: {p}" for p in expect_problems(row["expect"], row["tags"], catalog)]
    non_commands = read_jsonl(HERE / "non_commands.jsonl")
    problems += [f"non_commands: {p}" for p in check_ids(non_commands, "nc")]
    problems += [f"{row.get('id')}: {p}" for row in non_commands for p in non_command_problems(row)]
    zh = read_jsonl(HERE / "zh_pinyin.jsonl")
    problems += [f"zh_pinyin: {p}" for p in check_ids(zh, "zh")]
    for row in zh:
        if not (_is_str(row.get("text_zh")) and _is_str(row.get("pinyin")) and row.get("voice") == "cmn-latn-pinyin"):
            problems.append(f"{row.get('id')}: needs text_zh, pinyin and voice cmn-latn-pinyin")
        problems += [
            f"{row.get('id')}: {p}" for p in expect_problems(row.get("expect", {}), row.get("tags", []), catalog)
        ]
    problems += check_split(HERE / "commands.jsonl") + check_split(HERE / "non_commands.jsonl")
    for problem in problems:
        print(problem, file=sys.stderr)
    print(
        f"{len(commands)} commands, {len(non_commands)} non-commands, {len(zh)} Mandarin commands: {len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
