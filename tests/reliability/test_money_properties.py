"""Properties of Money (shopvoice/money.py) and of the text framing between gateway
and NLU, found by hypothesis: exact round trips, half-even rounding, sign rules."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.money import MINOR_UNITS, MoneyError, from_decimal, parse_decimal, quantize, to_decimal
from shopvoice.nlu.v1.nlu_pb2 import Utterance

INT64 = st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
NANOS = st.integers(min_value=0, max_value=999_999_999)
# Decimals a Money can hold exactly: at most 9 decimals, units within int64.
EXACT = st.decimals(
    min_value=Decimal(-(2**62)), max_value=Decimal(2**62), places=9, allow_nan=False, allow_infinity=False
)


@st.composite
def valid_money(draw: st.DrawFn) -> Money:
    units, nanos = draw(INT64), draw(NANOS)
    sign = -1 if units < 0 or (units == 0 and draw(st.booleans())) else 1
    return Money(units=units, nanos=sign * nanos, currency_code=draw(st.sampled_from(sorted(MINOR_UNITS))))


@given(valid_money())
def test_money_to_decimal_and_back_is_exact(money: Money) -> None:
    back = from_decimal(to_decimal(money), money.currency_code)
    assert (back.units, back.nanos) == (money.units, money.nanos)


@given(EXACT)
def test_decimal_to_money_and_back_is_exact(value: Decimal) -> None:
    money = from_decimal(value)
    assert to_decimal(money) == value
    # Sign rule: units and nanos never disagree.
    assert not (money.units and money.nanos) or (money.units > 0) == (money.nanos > 0)
    assert -999_999_999 <= money.nanos <= 999_999_999


@given(st.integers(min_value=1, max_value=2**62), st.integers(min_value=1, max_value=999_999_999))
def test_mixed_signs_are_refused(units: int, nanos: int) -> None:
    with pytest.raises(MoneyError):
        to_decimal(Money(units=units, nanos=-nanos))
    with pytest.raises(MoneyError):
        to_decimal(Money(units=-units, nanos=nanos))


@given(st.integers().filter(lambda n: abs(n) > 999_999_999))
def test_nanos_out_of_range_are_refused(nanos: int) -> None:
    with pytest.raises((MoneyError, ValueError)):
        to_decimal(Money(units=0, nanos=nanos))


@given(EXACT, st.sampled_from(sorted(MINOR_UNITS)))
def test_quantize_is_half_even_to_the_minor_unit(value: Decimal, currency: str) -> None:
    digits = MINOR_UNITS[currency]
    step = Decimal(1).scaleb(-digits)
    rounded = quantize(value, currency)
    assert rounded == value.quantize(step, rounding=ROUND_HALF_EVEN)
    assert abs(rounded - value) <= step / 2
    assert quantize(rounded, currency) == rounded  # idempotent
    assert quantize(-value, currency) == -rounded  # symmetric: half-even has no sign bias


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_ties_go_to_the_even_cent(cents: int) -> None:
    tie = Decimal(cents) / 100 + Decimal("0.005")
    rounded = quantize(tie, "CNY")
    assert int(rounded.scaleb(2)) % 2 == 0


@given(st.text())
def test_parse_decimal_answers_a_finite_decimal_or_a_money_error(text: str) -> None:
    try:
        value = parse_decimal(text)
    except MoneyError:
        return
    assert value.is_finite()


@given(st.text(), st.text(max_size=64), st.sampled_from(["", "zh-CN", "en-US"]))
def test_utterance_framing_round_trips_any_text(text: str, utterance_id: str, language: str) -> None:
    """What the gateway puts on sv:transcripts is what the NLU reads, for any Unicode text."""
    try:
        utterance = Utterance(utterance_id=utterance_id, text=text, language=language, reply_stream="p:results:s")
    except ValueError:  # lone surrogates cannot be protobuf strings; grpc refuses them before us
        return
    wire = {b"utterance": utterance.SerializeToString()}
    assert Utterance.FromString(wire[b"utterance"]) == utterance
    reply = gw.ServerMessage(utterance_id=utterance_id, result=gw.Result(message=text))
    assert gw.ServerMessage.FromString(reply.SerializeToString()) == reply
