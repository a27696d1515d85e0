"""The regression conversations (tests/customer/conversations.yaml) played through the real
customer channel against the demo shop by eval.customer.run, scored by eval.customer.score:
every turn right, no context leak, no number outside an answer's facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from eval.customer import run, score

CONVERSATIONS = Path(__file__).with_name("conversations.yaml")


def test_every_turn_is_right_without_leaks_or_ungrounded_numbers(
    pg_admin_url: str, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", pg_admin_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert run.main(["--set", str(CONVERSATIONS), "--out", str(tmp_path)]) == 0
    shop = yaml.safe_load(score.DEFAULT_SHOP.read_text(encoding="utf-8"))
    products = score.ProductValues(shop)
    orders = json.loads((tmp_path / "orders.json").read_text(encoding="utf-8"))
    turns = score.fill_turns(score.load_set(CONVERSATIONS, products.skus), orders)
    verdicts = score.score(turns, score.load_answers(tmp_path / "answers.conversations.jsonl"), products)
    wrong = [
        f"{v.turn.conversation}/{v.turn.number} {v.turn.ask!r} -> {v.reply.text if v.reply else None!r}"
        for v in verdicts
        if not v.correct
    ]
    assert wrong == [], "\n".join(wrong)
    assert [v.leaks for v in verdicts if v.leaks] == []
    assert [v.ungrounded for v in verdicts if v.ungrounded] == []
    assert not [v for v in verdicts if v.wrong_language]
