"""Properties: no text makes the fast path raise, and every command obeys the contract."""

from __future__ import annotations

from decimal import Decimal

import cn2an
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopvoice.grammar import command_to_json, parse, validate_command
from shopvoice.grammar.commands import decimal_to_money, money_to_decimal
from shopvoice.text import normalize
from shopvoice.text.zh_numbers import read_run

from .corpus import Case, load_cases

_PIECES = [
    "把",
    "A100",
    "的价格改成",
    "九十九块九",
    "订单",
    "一二三四",
    "发货",
    "顺丰",
    "单号",
    "SF123456",
    "打八五折",
    "百分之",
    "十几",
    "两百",
    "库存",
    "设为",
    "嗯",
    "那个",
    "set the price of",
    "a one hundred",
    "to",
    "ninety nine dollars",
    "order",
    "nine zero one two",
    "ship",
    "via",
    "tracking",
    "um",
    "%",
    "$",
    "¥",
    "，",
    "。",
    " ",
    "\x00",
    "\u200b",
    "😀",
    "Ａ１００",
    "点",
    "折",
    "块",
    "毛",
    "remove",
    "units",
    "of",
    "-",
    "'s",
    "double",
    "point",
    "hundred",
    "万",
    "亿",
    "零",
]
_utterances = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(_PIECES), max_size=30).map("".join),
    st.lists(st.sampled_from(_PIECES), max_size=30).map(" ".join),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=5000, max_size=10_000),
)
_FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FAST
@given(_utterances)
def test_parse_never_raises_and_obeys_the_contract(text: str) -> None:
    result = parse(text)
    assert validate_command(result.command, allow_missing=True) == [], (text, command_to_json(result.command))
    assert 0.0 <= result.confidence <= 1.0
    assert result.language in ("zh", "en")
    payload = command_to_json(result.command)
    assert set(payload) == {"intent", "slots"}
    if payload["intent"] == "unknown":
        assert payload["slots"] == {"text": text}
        assert result.confidence == 0.0


@_FAST
@given(_utterances)
def test_normalize_never_raises_and_is_bounded(text: str) -> None:
    result = normalize(text)
    assert len(result.text) <= 1000
    assert "\x00" not in result.text


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=99_999_999))
def test_zh_integers_agree_with_cn2an(number: int) -> None:
    spoken = cn2an.an2cn(str(number))
    assert read_run(spoken) == str(number)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=9_999), st.integers(min_value=0, max_value=99))
def test_spoken_money_parses_to_two_decimals(yuan: int, fen: int) -> None:
    jiao, cents = divmod(fen, 10)
    spoken = cn2an.an2cn(str(yuan)) + "块"
    if jiao or cents:
        spoken += "零一二三四五六七八九"[jiao] + "毛"
    if cents:
        spoken += "零一二三四五六七八九"[cents] + "分"
    result = command_to_json(parse(f"把A100的价格改成{spoken}").command)
    assert result == {
        "intent": "set_price",
        "slots": {"sku": "A100", "price": f"{yuan}.{fen:02d}"},
    }


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-99_999_999, max_value=99_999_999, places=2))
def test_money_round_trips_exactly(amount: Decimal) -> None:
    assert money_to_decimal(decimal_to_money(amount)) == amount


_CASES = [c for c in load_cases() if c.intent != "unknown"]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_CASES), st.sampled_from(["嗯，", "um ", "那个", "uh, "]))
def test_a_leading_filler_changes_nothing(case: Case, filler: str) -> None:
    plain = command_to_json(parse(case.text).command)
    noisy = command_to_json(parse(filler + case.text).command)
    assert noisy == plain
