"""eval/score.py: exact typed command, candidates for ambiguous names, unknown on intent alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eval import score

EVAL_DIR = Path(score.__file__).resolve().parent


SET_PRICE = {"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}}
AMBIGUOUS = {"intent": "query_stock", "slots": {}, "candidates": ["A100", "A101"]}


@pytest.mark.parametrize(
    ("got", "ok"),
    [
        ({"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}, "source": "grammar"}, True),
        ({"intent": "set_price", "slots": {"sku": "A100", "price": "99.0"}}, False),
        ({"intent": "set_price", "slots": {"sku": "a100", "price": "99.00"}}, False),
        ({"intent": "set_price", "slots": {"sku": "A100"}}, False),
        ({"intent": "set_price", "slots": {"sku": "A100", "price": "99.00", "percent": "-10"}}, False),
        ({"intent": "adjust_price", "slots": {"sku": "A100", "price": "99.00"}}, False),
        ({"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}, "candidates": ["A100", "F9"]}, False),
        ({"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}, "candidates": []}, True),
        ({"error": "gateway unreachable"}, False),
    ],
)
def test_a_command_passes_only_when_exactly_the_expected_one(got: dict[str, Any], ok: bool) -> None:
    assert score.passes(SET_PRICE, got) is ok


def test_integers_and_strings_are_not_interchangeable() -> None:
    expect = {"intent": "set_stock", "slots": {"sku": "A100", "quantity": 50}}
    assert score.passes(expect, {"intent": "set_stock", "slots": {"sku": "A100", "quantity": 50}})
    assert not score.passes(expect, {"intent": "set_stock", "slots": {"sku": "A100", "quantity": "50"}})


def test_a_sku_list_keeps_the_order_said() -> None:
    expect = {"intent": "bulk_set_price", "slots": {"skus": ["A100", "B200"], "price": "79.00"}}
    assert not score.passes(expect, {"intent": "bulk_set_price", "slots": {"skus": ["B200", "A100"], "price": "79.00"}})


@pytest.mark.parametrize(
    ("got", "ok"),
    [
        ({"intent": "query_stock", "slots": {"sku": "the T-shirt"}, "candidates": ["A101", "A100"]}, True),
        ({"intent": "query_stock", "slots": {}, "candidates": ["A100", "A101"]}, True),
        ({"intent": "query_stock", "slots": {"sku": "A100"}, "candidates": ["A100", "A101"]}, False),
        ({"intent": "query_stock", "slots": {"sku": "A100"}}, False),
        ({"intent": "query_stock", "slots": {"sku": "the T-shirt"}, "candidates": ["A100"]}, False),
        ({"intent": "query_stock", "slots": {"sku": "the T-shirt"}, "candidates": ["A100", "A101", "F9"]}, False),
        ({"intent": "query_product", "slots": {"sku": "the T-shirt"}, "candidates": ["A100", "A101"]}, False),
    ],
)
def test_an_ambiguous_name_passes_when_the_system_asks_among_the_same_candidates(got: dict[str, Any], ok: bool) -> None:
    assert score.passes(AMBIGUOUS, got) is ok


def test_unknown_passes_on_the_intent_alone() -> None:
    expect = {"intent": "unknown", "slots": {}}
    assert score.passes(expect, {"intent": "unknown", "slots": {"text": "what's the weather"}})
    assert not score.passes(expect, {"intent": "query_product", "slots": {"sku": "WEATHER"}})


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _case(id_: str, lang: str, text: str, expect: dict[str, Any], *tags: str) -> dict[str, Any]:
    return {"id": id_, "lang": lang, "text": text, "expect": expect, "tags": list(tags)}


CASES = [
    _case("t-1", "en", "set A100 to 99", SET_PRICE, "price"),
    _case("t-2", "zh", "A100改成99块", SET_PRICE, "price", "colloquial-number"),
    _case("t-3", "en", "how many t-shirts are left", AMBIGUOUS, "stock", "ambiguous"),
    _case("t-4", "zh", "上个月呢", {"intent": "unknown", "slots": {}}, "unknown", "not-a-command"),
    _case("t-5", "en", "refund order 88", {"intent": "refund_order", "slots": {"order_id": "88"}}, "order"),
]
OUTPUTS = [
    {"intent": "set_price", "slots": {"sku": "A100", "price": "99.00"}, "source": "grammar"},
    {"intent": "set_price", "slots": {"sku": "A100", "price": "89.00"}, "source": "llm"},
    {"intent": "query_stock", "slots": {"sku": "t-shirts"}, "candidates": ["A100", "A101"], "source": "grammar"},
    {"intent": "unknown", "slots": {"text": "上个月呢"}, "source": "llm"},
    {"intent": "refund_order", "slots": {"order_id": "88", "amount": "0.00"}, "source": "llm"},
]


def _run(*args: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eval.score", *map(str, args)],
        cwd=EVAL_DIR.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_prints_accuracy_overall_per_group_and_per_source(tmp_path: Path) -> None:
    result = _run(_write(tmp_path / "set.jsonl", CASES), _write(tmp_path / "out.jsonl", OUTPUTS))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "exact typed command: 3/5 = 60.0%"
    assert "  en                        2/3     66.7%" in lines
    assert "  zh                        1/2     50.0%" in lines
    assert "  order                     0/1      0.0%" in lines  # intent family
    assert "  refund_order              0/1      0.0%" in lines  # intent
    assert "  colloquial-number         0/1      0.0%" in lines  # tag
    assert "  grammar                   2/2    100.0%   40.0% of lines" in lines
    assert "  llm                       1/3     33.3%   60.0% of lines" in lines
    assert "misses" not in result.stdout


def test_errors_lists_each_miss_as_expected_versus_got(tmp_path: Path) -> None:
    result = _run(_write(tmp_path / "set.jsonl", CASES), _write(tmp_path / "out.jsonl", OUTPUTS), "--errors")
    assert result.returncode == 0, result.stderr
    misses = result.stdout.split("misses (2)\n", 1)[1].splitlines()
    assert misses[0] == "  t-2  A100改成99块"
    assert misses[1].startswith('    expected {"intent": "set_price"') and '"99.00"' in misses[1]
    assert misses[2].startswith("    got      ") and '"89.00"' in misses[2]
    assert misses[3] == "  t-5  refund order 88"


def test_output_without_a_source_key_prints_no_source_table(tmp_path: Path) -> None:
    outputs = [{k: v for k, v in o.items() if k != "source"} for o in OUTPUTS]
    result = _run(_write(tmp_path / "set.jsonl", CASES), _write(tmp_path / "out.jsonl", outputs))
    assert result.returncode == 0, result.stderr
    assert "by source" not in result.stdout


def test_files_that_do_not_line_up_are_refused_with_the_counts(tmp_path: Path) -> None:
    result = _run(_write(tmp_path / "set.jsonl", CASES), _write(tmp_path / "out.jsonl", OUTPUTS[:4]))
    assert result.returncode == 2
    assert "5 set lines but 4 output lines" in result.stderr
    assert result.stdout == ""


def test_a_line_that_is_not_json_is_named(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    _write(out, OUTPUTS)
    out.write_text(
        out.read_text(encoding="utf-8").replace('{"intent": "unknown"', "Traceback (most", 1), encoding="utf-8"
    )
    result = _run(_write(tmp_path / "set.jsonl", CASES), out)
    assert result.returncode == 2
    assert f"{out}:4: not JSON" in result.stderr
