"""The committed customer sets (the first one and the fresh one written after its test half was
scored): what issue 29 asks of each, consistent with the demo shop, and their dev and test
halves current with them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from eval.customer import score, split

ROOT = Path(__file__).resolve().parents[2]
SETS = (ROOT / "eval" / "customer" / "conversations.yaml", ROOT / "eval" / "customer" / "fresh.yaml")
SHOP = ROOT / "shopvoice_cli" / "demo_shop.yaml"


@pytest.fixture(scope="module")
def shop() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SHOP.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module", params=SETS, ids=lambda path: path.stem)
def set_path(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


@pytest.fixture(scope="module")
def turns(shop: dict[str, Any], set_path: Path) -> list[score.Turn]:
    return score.load_set(set_path, score.ProductValues(shop).skus)


def test_the_set_is_big_bilingual_and_has_conversations_that_move_between_products(
    turns: list[score.Turn],
) -> None:
    assert len(turns) >= 200
    languages = Counter(t.language for t in turns)
    assert languages["zh"] == languages["en"]
    kinds = Counter((t.language, t.kinds[0]) for t in turns)
    assert all(kinds[(language, kind)] >= 5 for language in score.LANGUAGES for kind in score.KINDS)
    by_conversation: dict[str, list[score.Turn]] = {}
    for turn in turns:
        by_conversation.setdefault(turn.conversation, []).append(turn)
    several = [c for c in by_conversation.values() if len(c) > 1]
    moving = [c for c in several if len({sku for t in c for sku in t.products}) > 1]
    assert len(several) >= 40
    assert len(moving) >= 25


def test_every_fact_and_policy_is_written_in_both_languages(shop: dict[str, Any]) -> None:
    for product in shop["products"]:
        for name, fact in product["facts"].items():
            assert set(fact) == {"zh", "en"}, (product["sku"], name, fact)
            assert all(isinstance(v, str) and v for v in fact.values()), (product["sku"], name, fact)
    for topic, texts in shop["policies"].items():
        assert set(texts) == {"zh", "en"} and all(texts.values()), topic


def test_placeholders_and_customers_are_the_demo_shops(shop: dict[str, Any], turns: list[score.Turn]) -> None:
    owners = {order["placeholder"]: c["ref"] for c in shop["customers"] for order in c["orders"]}
    used = {m for t in turns for text in (t.ask, *t.expect, *t.forbid) for m in re.findall(r"\{([a-z_]+)\}", text)}
    assert used <= set(owners)
    assert {t.customer for t in turns} <= set(owners.values())


def test_an_answer_with_every_expected_item_trips_none_of_its_forbidden_ones(turns: list[score.Turn]) -> None:
    for turn in turns:
        answer = " / ".join(item.split("|")[0] for item in turn.expect)
        assert not [f for f in turn.forbid if score.occurs(f, answer)], (turn.conversation, turn.number)


def test_the_halves_are_current_disjoint_and_whole(tmp_path: Path, set_path: Path) -> None:
    assert split.main([str(set_path), "--out", str(tmp_path)]) == 0
    ids: dict[str, set[str]] = {}
    for half in ("dev", "test"):
        name = f"{set_path.stem}.{half}.yaml"
        written = (tmp_path / name).read_text(encoding="utf-8")
        committed = (set_path.parent / name).read_text(encoding="utf-8")
        assert written == committed, f"{name} is stale: run eval/customer/split.py {set_path.name}"
        ids[half] = {c["id"] for c in yaml.safe_load(written)["conversations"]}
    everything = {c["id"] for c in yaml.safe_load(set_path.read_text(encoding="utf-8"))["conversations"]}
    assert not ids["dev"] & ids["test"]
    assert ids["dev"] | ids["test"] == everything


def test_the_split_depends_on_the_seed_only(set_path: Path) -> None:
    _, blocks = split.parse(set_path.read_text(encoding="utf-8"))
    assert split.split(blocks, 29) == split.split(list(blocks), 29)
    assert split.split(blocks, 29) != split.split(blocks, 30)
