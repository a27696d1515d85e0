"""Canonical text forms for money, percentages and discounts (docs/design.md slot rules).

Money is never a float: every value here is a ``Decimal`` and leaves as a string
with exactly two decimals ("99.00"); percentages leave without trailing zeros
("-20", "12.5") because that is how docs/design.md prints them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

#: Largest amount we accept from speech; beyond it a parse is more likely noise.
MAX_MONEY = Decimal("100000000")
_CENT = Decimal("0.01")


def parse_decimal(text: str) -> Decimal | None:
    """Read a plain decimal ("99", "99.9"); None when it is not one."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def format_money(value: Decimal) -> str:
    """Two decimals, rounded half-up at the cent: Decimal("99.9") -> "99.90"."""
    return str(value.quantize(_CENT))


def format_percent(value: Decimal) -> str:
    """Shortest exact form: Decimal("-20.0") -> "-20", Decimal("12.50") -> "12.5"."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def discount_to_percent(zhe: str) -> str | None:
    """Chinese discount ("N折") as a signed percent change: "8" -> "-20", "85" -> "-15".

    打八折 means "pay 80%", so the change is 8*10 - 100. Two digits read together
    (八五折) are tenths of the price in percent, a decimal (8.5折) is the same value.
    Returns None for values that are not a discount (0, or 10 and above as one digit).
    """
    value = parse_decimal(zhe)
    if value is None:
        return None
    if "." in zhe or len(zhe) == 1:
        paid = value * 10
    elif len(zhe) == 2 and "0" not in zhe:
        paid = value  # 八五折: 85% (十折 = "10" is no discount at all)
    else:
        return None
    if paid <= 0 or paid >= 100:
        return None
    return format_percent(paid - 100)
