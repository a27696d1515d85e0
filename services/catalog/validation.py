"""Input rules of the catalog: refuse bad input with a message a person can act on.

Everything here runs before a write, so refused input leaves no trace.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.errors import InvalidArgument
from shopvoice.money import MINOR_UNITS, MoneyError, check_currency, minor_digits, to_decimal

MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 10_000
MAX_OPTION_TITLE_CHARS = 100
# More units than any shop holds of one SKU: a typo, not stock.
MAX_QUANTITY = 1_000_000_000
MAX_ORDER_ID_CHARS = 64


def _control_characters(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in allowed for ch in text)


def validate_title(title: str, what: str = "title", limit: int = MAX_TITLE_CHARS, required: bool = True) -> str:
    title = title.strip()
    if not title and required:
        raise InvalidArgument(f"{what} is empty; give the product a name")
    if len(title) > limit:
        raise InvalidArgument(f"{what} is {len(title)} characters long; at most {limit} are allowed")
    if _control_characters(title):
        raise InvalidArgument(f"{what} contains control or invisible characters; remove them")
    return title


def validate_description(text: str) -> str:
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise InvalidArgument(f"description is {len(text)} characters long; at most {MAX_DESCRIPTION_CHARS}")
    if _control_characters(text, allowed="\n\t"):
        raise InvalidArgument("description contains control characters (other than newline and tab); remove them")
    return text


def validate_quantity(quantity: int, what: str = "quantity") -> int:
    if quantity < 0:
        raise InvalidArgument(f"{what} cannot be negative ({quantity}); stock never goes below zero")
    if quantity > MAX_QUANTITY:
        raise InvalidArgument(f"{what} {quantity} is more than {MAX_QUANTITY:,}; check the number")
    return quantity


def validate_order_id(order_id: str) -> str:
    if not order_id or len(order_id) > MAX_ORDER_ID_CHARS or _control_characters(order_id):
        raise InvalidArgument(f"order_id is required (1-{MAX_ORDER_ID_CHARS} printable characters)")
    return order_id


def money_value(money: Money, currency: str, what: str) -> Decimal:
    """The exact value of a Money in the shop's currency, with no more decimals than it has."""
    if money.currency_code and money.currency_code != currency:
        check_currency(money.currency_code)
        raise InvalidArgument(f"this shop prices in {currency}, not {money.currency_code}")
    try:
        value = to_decimal(money)
    except MoneyError as exc:
        raise InvalidArgument(f"{what}: {exc}") from exc
    digits = MINOR_UNITS.get(currency, 2)
    if minor_digits(value.normalize()) > digits:
        raise InvalidArgument(f"{what} {value.normalize()} has more than {digits} decimals, which {currency} allows")
    return value


def check_amount(value: Decimal, currency: str, ceiling: Decimal, what: str = "price") -> Decimal:
    """A price the shop may charge: not negative, not above the configured ceiling."""
    if value < 0:
        raise InvalidArgument(f"{what} cannot be negative ({value} {currency})")
    if value > ceiling:
        raise InvalidArgument(f"{what} {value} {currency} is above this shop's ceiling of {ceiling}; check the amount")
    return value


def validate_price(money: Money, currency: str, ceiling: Decimal, what: str = "price") -> Decimal:
    return check_amount(money_value(money, currency, what), currency, ceiling, what)
