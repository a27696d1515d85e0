"""Products named one after another (shopvoice.grammar.mentions.list_mention), in both languages."""

from __future__ import annotations

import pytest

from shopvoice.grammar.mentions import list_mention
from tests.llm.test_candidates import live_vocabulary


@pytest.mark.parametrize(
    ("clause", "language", "names", "skus"),
    [
        ("短裤跟帽子都快卖没了", "zh", ("短裤", "帽子"), ("R11", "P6")),
        ("红色连帽卫衣和黑色双肩包各减5件库存", "zh", ("红色连帽卫衣", "黑色双肩包"), ("F9", "D42")),
        (
            "the thermos cup and the yoga mat take 5 bucks off each",
            "en",
            ("the thermos cup", "the yoga mat"),
            ("E15", "G3"),
        ),
        # typed apart by spaces, no joining word: the list ends at the longest name the last word starts with
        ("帆布包 袜子 白色T恤库存都调成100", "zh", ("帆布包", "袜子", "白色T恤"), ("J5", "M3", "A101")),
        ("把帆布包 袜子 都补10个", "zh", ("帆布包", "袜子"), ("J5", "M3")),
    ],
)
def test_a_list_of_names_is_its_products_in_order(
    clause: str, language: str, names: tuple[str, ...], skus: tuple[str, ...]
) -> None:
    mention = list_mention(clause, language, live_vocabulary())
    assert mention is not None
    assert (mention.names, mention.skus) == (names, skus)


@pytest.mark.parametrize(
    ("clause", "language"),
    [
        ("帆布包库存都调成100", "zh"),  # one name
        ("帆布包 库存调成100", "zh"),  # one name, then words
        ("the yoga mat and whatever else is left", "en"),  # the second is no name
        ("把a100 price 改成99", "zh"),
    ],
)
def test_no_list_where_fewer_than_two_names_are_said(clause: str, language: str) -> None:
    assert list_mention(clause, language, live_vocabulary()) is None
