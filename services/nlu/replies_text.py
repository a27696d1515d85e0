"""Money as a reply writes it, and which language a text is in. The reply templates and the
words for enum values live in services/nlu/replies/ (en.toml, zh.toml)."""

from __future__ import annotations

from decimal import Decimal

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.money import format_amount, to_decimal


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def money(value: Money) -> str:
    amount: Decimal = to_decimal(value)
    currency = value.currency_code or "CNY"
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    return f"{symbol}{format_amount(amount, currency)}"
