"""The public API: parse results, JSON form, vocabulary, expansion, CLI, grammar files."""

from __future__ import annotations

import io
import json
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from shopvoice.common.v1.command_pb2 import Command, SetPrice
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.grammar import (
    Parse,
    Vocabulary,
    command_to_json,
    expand_sentences,
    parse,
    validate_command,
)
from shopvoice.grammar.commands import INTENTS, build_command
from shopvoice.grammar.errors import GrammarError, TemplateError
from shopvoice.grammar.sentences import LANGUAGES, compile_templates
from shopvoice.grammar.template import parse_template
from shopvoice_cli.parse import run

CATALOG = [("A100", "红色T恤"), ("B205", "blue mug"), ("C12", "the canvas tote")]


def test_parse_is_a_frozen_result_with_language_and_normalised_text() -> None:
    result = parse("把A一百的价格改成九十九块九")
    assert isinstance(result, Parse)
    assert result.language == "zh"
    assert result.normalized == "把A100的价格改成99.9元"
    assert result.confidence == 1.0
    with pytest.raises(FrozenInstanceError):
        result.confidence = 0.5  # type: ignore[misc]


def test_unknown_keeps_the_original_text_and_has_zero_confidence() -> None:
    result = parse("  今天天气怎么样？ ")
    assert command_to_json(result.command) == {
        "intent": "unknown",
        "slots": {"text": "  今天天气怎么样？ "},
    }
    assert result.confidence == 0.0


def test_titles_resolve_through_the_vocabulary() -> None:
    vocabulary = Vocabulary(CATALOG)
    assert command_to_json(parse("把红色T恤的价格改成59元", vocabulary).command)["slots"] == {
        "sku": "A100",
        "price": "59.00",
    }
    assert command_to_json(parse("is the blue mug in stock", vocabulary).command)["slots"] == {"sku": "B205"}
    # A known title inside a longer phrase ("那件" + title) still resolves.
    assert parse("那件红色T恤还有货吗", vocabulary).command.query_stock.sku == "A100"
    # Mapping title -> sku is accepted as well as (sku, title) pairs.
    assert parse("unlist canvas tote", {"canvas tote": "C12"}).command.set_product_status.sku == "C12"


def test_confidence_is_lower_for_unchecked_titles_and_partial_matches() -> None:
    assert parse("查一下红色T恤").confidence == 0.9
    assert parse("查一下绿色袜子", Vocabulary(CATALOG)).confidence == 0.75
    assert parse("查一下红色T恤", Vocabulary(CATALOG)).confidence == 1.0
    partial = parse("取消订单1234好吗")
    assert partial.command.WhichOneof("intent") == "cancel_order"
    assert 0.4 <= partial.confidence < 0.9


def test_command_to_json_prints_design_forms() -> None:
    command = parse("A100打八五折").command
    assert command_to_json(command) == {
        "intent": "adjust_price",
        "slots": {"sku": "A100", "percent": "-15"},
    }
    assert command_to_json(parse("A100库存设为0").command)["slots"] == {
        "sku": "A100",
        "quantity": 0,
    }
    assert command_to_json(parse("最近七天的销售额").command)["slots"] == {
        "metric": "revenue",
        "period": "last_7_days",
    }
    assert command_to_json(parse("remove 5 units of A100").command)["slots"]["delta"] == -5


def test_validate_command_reports_contract_violations() -> None:
    bad_price = Command(set_price=SetPrice(sku="a100", price=Money(units=1, nanos=1)))
    problems = validate_command(bad_price)
    assert any("sku" in p for p in problems)
    assert any("two decimals" in p for p in problems)
    assert validate_command(Command()) == ["no intent set"]
    assert validate_command(build_command("set_product_status", {"sku": "A100"})) == ["status unspecified"]


def test_every_intent_has_templates_in_both_languages() -> None:
    for language in LANGUAGES:
        templates, _ = compile_templates(language)
        covered = {t.intent for t in templates}
        assert covered == set(INTENTS) - {"unknown"}, language


def test_malformed_templates_are_rejected_at_load_time(tmp_path: Path) -> None:
    with pytest.raises(TemplateError):
        parse_template("(a|b")
    with pytest.raises(TemplateError):
        parse_template("a]")
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "x.yaml").write_text("intents:\n  undo:\n    - sentences: ['{nope}']\n")
    with pytest.raises(GrammarError):
        compile_templates("en", tmp_path)


def test_expanded_sentences_are_bounded_and_parse_back() -> None:
    catalog = [(f"A{n}", f"product {n}") for n in range(200)]
    for language in LANGUAGES:
        sentences = list(expand_sentences(catalog, language, limit=3000))
        assert 500 < len(sentences) <= 3000
        assert len(set(sentences)) == len(sentences)
        understood = sum(parse(s).command.WhichOneof("intent") != "unknown" for s in sentences[::7])
        assert understood / len(sentences[::7]) > 0.95, language
    zh = list(expand_sentences(None, "zh", limit=2000))
    assert any("九十九元" in s for s in zh), "prices are spoken, not digits"
    assert not any(ch.isdigit() for s in zh for ch in s.replace("A100", ""))


def test_cli_json_prints_one_object_per_text() -> None:
    out = io.StringIO()
    assert run(["--json", "A100打八折", "cancel order 1234"], stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"intent": "adjust_price", "slots": {"sku": "A100", "percent": "-20"}},
        {"intent": "cancel_order", "slots": {"order_id": "1234"}},
    ]
    assert "八" not in lines[0] and "A100" in lines[0]


def test_cli_reads_stdin_in_order() -> None:
    out = io.StringIO()
    stdin = io.StringIO("确认\n\n订单88退款\nhello\n")
    assert run(["--json", "-"], stdin=stdin, stdout=out) == 0
    intents = [json.loads(line)["intent"] for line in out.getvalue().splitlines()]
    assert intents == ["confirm", "unknown", "refund_order", "unknown"]


def test_cli_human_form() -> None:
    out = io.StringIO()
    run(["把A100的价格改成99元"], stdout=out)
    assert out.getvalue().startswith("set_price sku=A100 price=99.00")
