"""Money: Decimal in Python, numeric in Postgres, the Money message on the wire. Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from shopvoice.common.v1.money_pb2 import Money

NANOS = Decimal(1_000_000_000)

# ISO 4217 minor units of the currencies we accept; anything else is refused.
MINOR_UNITS: dict[str, int] = {
    "CNY": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "HKD": 2,
    "TWD": 2,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "JPY": 0,
    "KRW": 0,
}


class MoneyError(ValueError):
    """A value that cannot be money: says why, in words a person can act on."""


def check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise MoneyError(f"unknown currency {code!r}; use one of {', '.join(sorted(MINOR_UNITS))}")
    return code


def to_decimal(money: Money) -> Decimal:
    """Exact value of a Money message; units and nanos must agree in sign."""
    if money.nanos and money.units and (money.nanos > 0) != (money.units > 0):
        raise MoneyError("units and nanos must have the same sign")
    if not -999_999_999 <= money.nanos <= 999_999_999:
        raise MoneyError("nanos must be within ±999,999,999")
    return Decimal(money.units) + Decimal(money.nanos) / NANOS


def from_decimal(value: Decimal, currency_code: str = "") -> Money:
    units = int(value)  # truncates toward zero, so nanos keep the sign of units
    nanos = int((value - units) * NANOS)
    return Money(currency_code=currency_code, units=units, nanos=nanos)


def parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise MoneyError(f"{text!r} is not a number") from exc
    if not value.is_finite():
        raise MoneyError(f"{text!r} is not a finite number")
    return value


def quantize(value: Decimal, currency_code: str) -> Decimal:
    """Round to the currency's minor unit, half-even (banker's rounding)."""
    exp = Decimal(1).scaleb(-MINOR_UNITS.get(currency_code, 2))
    return value.quantize(exp, rounding=ROUND_HALF_EVEN)


def format_amount(value: Decimal, currency_code: str = "") -> str:
    """'99.00' style: fixed point with the currency's minor digits."""
    return f"{quantize(value, currency_code or 'CNY'):f}"


def minor_digits(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0
