"""The contract a typed command obeys before anything executes it (docs/design.md's rules).

One validator for both paths: the grammar checks its answers here, and an LLM answer
(free text until proven otherwise) is converted to a Command and checked here too;
one problem and it becomes ``unknown``. The slot formats live here once and the LLM's
JSON schema reuses them, so the schema the model is constrained by and the check it
must pass cannot drift apart.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from shopvoice.common.v1.command_pb2 import Command
from shopvoice.common.v1.money_pb2 import Money

MAX_MONEY = Decimal("100000000")
MAX_QUANTITY = 10_000_000
MAX_SKU_CHARS = 80
MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 500
CARRIERS = ("SF", "YTO", "ZTO", "STO", "YUNDA", "EMS", "JD", "UPS", "FEDEX", "DHL", "USPS")

# Regular expressions without anchors: here they go through fullmatch; schema.py
# anchors them, since JSON Schema's `pattern` is a search, not a whole-string match.
SKU_CODE = r"[A-Z]{1,4}-?[0-9]{1,10}(-[A-Z0-9]+)*"
ORDER_ID = r"[0-9]{1,24}"
TRACKING_NUMBER = r"[A-Z0-9]{4,30}"
PERCENT = r"-?(0|[1-9][0-9]{0,3})(\.[0-9]?[1-9])?"
MONEY = r"(0|[1-9][0-9]{0,8})\.[0-9]{2}"
SIGNED_MONEY = r"-?" + MONEY

_SKU_CODE = re.compile(SKU_CODE)
_ORDER_ID = re.compile(ORDER_ID)
_TRACKING = re.compile(TRACKING_NUMBER)
_PERCENT = re.compile(PERCENT)
_NANOS = Decimal(1_000_000_000)

SKU_INTENTS = frozenset(
    {"set_price", "adjust_price", "set_stock", "adjust_stock", "query_stock", "query_product", "set_product_status"}
)
ORDER_INTENTS = frozenset({"confirm_order", "ship_order", "cancel_order", "refund_order", "query_order"})


def money_value(money: Money) -> Decimal:
    """The exact amount of a Money message."""
    return Decimal(money.units) + Decimal(money.nanos) / _NANOS


def _money_problems(name: str, money: Money, signed: bool = False) -> list[str]:
    problems = []
    if money.units and money.nanos and (money.units > 0) != (money.nanos > 0):
        return [f"{name}: units and nanos differ in sign"]
    value = money_value(money)
    if value != value.quantize(Decimal("0.01")):
        problems.append(f"{name} has more than two decimals: {value}")
    if abs(value) > MAX_MONEY or (value < 0 and not signed):
        problems.append(f"{name} out of range: {value}")
    return problems


def _clean_text(text: str, limit: int) -> bool:
    """Said words: no edge spaces or control characters, and at least one letter or digit."""
    return (
        bool(text)
        and text == text.strip()
        and len(text) <= limit
        and not any(unicodedata.category(c) in ("Cc", "Cf") for c in text)
        and any(unicodedata.category(c)[0] in "LN" for c in text)
    )


def sku_problems(sku: str, required: bool = True) -> list[str]:
    """A SKU slot holds an upper-case code ("A100") or a spoken title ("红色T恤")."""
    if not sku:
        return ["sku missing"] if required else []
    if not _clean_text(sku, MAX_SKU_CHARS):
        return [f"sku is not a clean title or code: {sku[:100]!r}"]
    if sku.isascii() and sku.isalnum() and any(c.isdigit() for c in sku) and not _SKU_CODE.fullmatch(sku):
        return [f"sku code is not upper-case letters then digits: {sku!r}"]
    return []


def validate(command: Command, allow_missing: bool = False) -> list[str]:
    """Problems with ``command``; an empty list means it obeys the contract.

    ``allow_missing``: a product or order not said at all ("ship it") is fine; the
    dialogue fills it from context or asks. Parser answers are checked this way; a
    command about to be dispatched is checked strictly.
    """
    intent = command.WhichOneof("intent")
    if intent is None:
        return ["no intent set"]
    msg = getattr(command, intent)
    problems: list[str] = []
    if intent in SKU_INTENTS:
        problems += sku_problems(msg.sku, required=not allow_missing)
    if intent in ORDER_INTENTS and not (allow_missing and not msg.order_id) and not _ORDER_ID.fullmatch(msg.order_id):
        problems.append(f"order_id must be digits: {msg.order_id[:40]!r}")
    if intent == "set_price":
        problems += _money_problems("price", msg.price) if msg.HasField("price") else ["price missing"]
    elif intent == "adjust_price":
        change = msg.WhichOneof("change")
        if change is None:
            problems.append("adjust_price needs percent or delta")
        elif change == "percent":
            if not _PERCENT.fullmatch(msg.percent) or not -100 <= Decimal(msg.percent) <= 1000:
                problems.append(f"percent is not a decimal string in -100..1000: {msg.percent[:20]!r}")
        else:
            problems += _money_problems("delta", msg.delta, signed=True)
    elif intent in ("set_stock", "adjust_stock"):
        value = msg.quantity if intent == "set_stock" else msg.delta
        if not -MAX_QUANTITY <= value <= MAX_QUANTITY or (intent == "set_stock" and value < 0):
            problems.append(f"quantity out of range: {value}")
    elif intent == "create_product":
        if not _clean_text(msg.title, MAX_TITLE_CHARS):
            problems.append("title missing or not clean text")
        problems += _money_problems("price", msg.price) if msg.HasField("price") else ["price missing"]
        if msg.HasField("quantity") and not 0 <= msg.quantity <= MAX_QUANTITY:
            problems.append(f"quantity out of range: {msg.quantity}")
        if msg.HasField("sku"):
            problems += sku_problems(msg.sku)
    elif intent == "set_product_status" and msg.status == 0:
        problems.append("status unspecified")
    elif intent == "ship_order":
        if msg.HasField("carrier") and msg.carrier not in CARRIERS:
            problems.append(f"unknown carrier {msg.carrier[:20]!r}")
        if msg.HasField("tracking_number") and not _TRACKING.fullmatch(msg.tracking_number):
            problems.append(f"tracking number not upper-case letters and digits: {msg.tracking_number[:40]!r}")
    elif intent == "set_guardrail":
        if msg.HasField("price_change_percent") and (
            not _PERCENT.fullmatch(msg.price_change_percent) or not 0 < Decimal(msg.price_change_percent) <= 1000
        ):
            problems.append(
                f"price_change_percent is not a decimal string in 0..1000: {msg.price_change_percent[:20]!r}"
            )
        if msg.HasField("bulk_threshold") and not 1 <= msg.bulk_threshold <= MAX_QUANTITY:
            problems.append(f"bulk_threshold out of range: {msg.bulk_threshold}")
    elif intent == "refund_order" and msg.HasField("amount"):
        problems += _money_problems("amount", msg.amount)
    elif intent == "sales_report":
        if msg.metric == 0:
            problems.append("metric unspecified")
        if msg.HasField("sku"):
            problems += sku_problems(msg.sku)
    return problems
