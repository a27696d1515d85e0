"""Input rules of the catalog: refuse bad input with a message a person can act on."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.errors import InvalidArgument
from shopvoice.money import MINOR_UNITS, MoneyError, check_currency, minor_digits, to_decimal

SKU_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,63}$")
MAX_TITLE_CHARS = 200


def validate_sku(sku: str) -> str:
    if not SKU_PATTERN.match(sku):
        raise InvalidArgument(
            f"SKU {sku[:80]!r} is not valid: use 1-64 upper-case letters, digits, '.', '_' or '-', like A100"
        )
    return sku


def validate_title(title: str) -> str:
    title = title.strip()
    if not title:
        raise InvalidArgument("title is empty; give the product a name")
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidArgument(f"title is {len(title)} characters; at most {MAX_TITLE_CHARS}")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in title):
        raise InvalidArgument("title contains control or invisible characters; remove them")
    return title


def validate_price(money: Money, currency: str, ceiling: Decimal) -> Decimal:
    if money.currency_code and money.currency_code != currency:
        check_currency(money.currency_code)
        raise InvalidArgument(f"this shop prices in {currency}, not {money.currency_code}")
    try:
        value = to_decimal(money)
    except MoneyError as exc:
        raise InvalidArgument(str(exc)) from exc
    if value < 0:
        raise InvalidArgument(f"price cannot be negative ({value})")
    if value > ceiling:
        raise InvalidArgument(f"price {value} is above this shop's ceiling of {ceiling}; check the amount")
    if minor_digits(value.normalize()) > MINOR_UNITS.get(currency, 2):
        raise InvalidArgument(f"price {value.normalize()} has more decimals than {currency} allows")
    return value
