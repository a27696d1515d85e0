"""What the merchant reads, in the language of the turn: templates as data, one renderer.

`en.toml` and `zh.toml` hold, per language, a `[text]` table of reply templates (`str.format`
named fields) and one table per enum a reply names (period, payment, fulfillment, ...). Both are
loaded once, at import. Dispatch renders from the services' structured results; a service's free
text never reaches a merchant through here, and neither does an enum's internal name.
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from importlib import resources
from typing import Literal

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.grammar.commands import enum_name
from shopvoice.money import format_amount, to_decimal

Language = Literal["en", "zh"]
LANGUAGES: tuple[Language, ...] = ("en", "zh")

Tables = dict[str, dict[str, str]]


def _load(language: Language) -> Tables:
    text = resources.files(__package__).joinpath(f"{language}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


TABLES: dict[Language, Tables] = {language: _load(language) for language in LANGUAGES}


def language(chinese: bool) -> Language:
    return "zh" if chinese else "en"


def render(key: str, lang: Language, **fields: object) -> str:
    """The `[text]` template `key` of `lang`, filled; a missing key or field is a KeyError."""
    return TABLES[lang]["text"][key].format(**fields)


def word(table: str, name: str, lang: Language, default: str = "") -> str:
    """An enum value (by its lower-case name without prefix) or code, in `lang`. A name the table
    lacks is the table's `default` entry when given, else said with spaces, never underscores."""
    words = TABLES[lang][table]
    if name in words:
        return words[name]
    return words[default] if default else name.replace("_", " ")


def enum_word(table: str, enum: object, value: int, lang: Language) -> str:
    """`word` of a proto enum value: enum_word("period", cmd.Period, 4, "zh") == "本周"."""
    return word(table, enum_name(enum.DESCRIPTOR, value), lang)  # type: ignore[attr-defined]


def joined(items: list[str], lang: Language, separator: str = "item_separator") -> str:
    return render(separator, lang).join(items)


def money(value: Money) -> str:
    """A price as a listing shows it, the same in every language: "¥99.00", "$5.00"."""
    currency = value.currency_code or "CNY"
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    return f"{symbol}{format_amount(to_decimal(value), currency)}"


def is_chinese(text: str) -> bool:
    """Whether a text has Chinese in it: a turn typed in Chinese is answered in Chinese."""
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def amount(value: Money, lang: Language) -> str:
    """Money as the services write it, with its currency in words: "98.00 CNY", "98.00元"."""
    return decimal_amount(to_decimal(value), value.currency_code or "CNY", lang)


def decimal_amount(value: Decimal, currency: str, lang: Language) -> str:
    return render("amount", lang, amount=format_amount(value, currency), currency=word("currency", currency, lang))
