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
from shopvoice.product_facts import FACT_NAMES

MAX_MONEY = Decimal("100000000")
MAX_QUANTITY = 10_000_000
MAX_SKU_CHARS = 80
MAX_TITLE_CHARS = 200
MAX_TEXT_CHARS = 500
CARRIERS = ("SF", "YTO", "ZTO", "STO", "YUNDA", "EMS", "JD", "UPS", "FEDEX", "DHL", "USPS")

# Regular expressions without anchors: here they go through fullmatch; schema.py
# anchors them, since JSON Schema's `pattern` is a search, not a whole-string match.
SKU_CODE = r"(P[0-9A-F]{8}(-[0-9]+)?|[A-Z]{1,4}-?[0-9]{1,10}(-[A-Z0-9]+)*)"
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
    {
        "set_price",
        "adjust_price",
        "set_stock",
        "adjust_stock",
        "query_stock",
        "query_product",
        "set_product_status",
        "set_product_fact",
    }
)
BULK_INTENTS = frozenset({"bulk_set_price", "bulk_adjust_price", "bulk_set_stock", "bulk_adjust_stock"})
MAX_SKUS = 500
MAX_UNDO = 20
FRACTION = r"0\.[0-9]{1,4}"
_FRACTION = re.compile(FRACTION)
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


def _percent_problems(percent: str) -> list[str]:
    if not _PERCENT.fullmatch(percent) or not -100 <= Decimal(percent) <= 1000:
        return [f"percent is not a decimal string in -100..1000: {percent[:20]!r}"]
    return []


def _selection_problems(msg: object) -> list[str]:
    """A bulk command's selection: a clean query, known SKUs, not too many of them."""
    problems: list[str] = []
    query = getattr(msg, "query", "")
    if msg.HasField("query") and not _clean_text(query, MAX_TITLE_CHARS):  # type: ignore[attr-defined]
        problems.append("query is not clean text")
    skus = list(getattr(msg, "skus", ()))
    if len(skus) > MAX_SKUS:
        problems.append(f"more than {MAX_SKUS} skus")
    for sku in skus:
        problems += sku_problems(sku)
    return problems


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
            problems += _percent_problems(msg.percent)
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
    elif intent == "refund_order":
        if msg.HasField("amount"):
            problems += _money_problems("amount", msg.amount)
            if msg.HasField("fraction"):
                problems.append("a refund takes an amount or a fraction, not both")
        if msg.HasField("fraction") and not _FRACTION.fullmatch(msg.fraction):
            problems.append(f"fraction must be a decimal between 0 and 1 like 0.5: {msg.fraction[:20]!r}")
    elif intent == "set_guardrail":
        if msg.HasField("price_change_percent") and (
            not _PERCENT.fullmatch(msg.price_change_percent) or not 0 < Decimal(msg.price_change_percent) <= 1000
        ):
            problems.append(
                f"price_change_percent is not a decimal string in 0..1000: {msg.price_change_percent[:20]!r}"
            )
        if msg.HasField("bulk_threshold") and not 1 <= msg.bulk_threshold <= MAX_QUANTITY:
            problems.append(f"bulk_threshold out of range: {msg.bulk_threshold}")
    elif intent == "sales_report":
        if msg.metric == 0:
            problems.append("metric unspecified")
        if msg.HasField("sku"):
            problems += sku_problems(msg.sku)
        if msg.compare_period and msg.compare_period == msg.period:
            problems.append("a period compared with itself")
    elif intent == "set_product_fact":
        if msg.name not in FACT_NAMES:
            problems.append(f"unknown fact {msg.name[:40]!r}: one of {', '.join(FACT_NAMES)}")
        if not _clean_text(msg.value, MAX_TITLE_CHARS):
            problems.append("value missing or not clean text")
    elif intent == "list_products":
        if msg.HasField("query") and not _clean_text(msg.query, MAX_TITLE_CHARS):
            problems.append("query is not clean text")
    elif intent == "low_stock":
        if msg.HasField("threshold") and not 0 <= msg.threshold <= MAX_QUANTITY:
            problems.append(f"threshold out of range: {msg.threshold}")
    elif intent in BULK_INTENTS:
        problems += _selection_problems(msg)
        if intent == "bulk_set_price":
            problems += _money_problems("price", msg.price) if msg.HasField("price") else ["price missing"]
        elif intent == "bulk_adjust_price":
            change = msg.WhichOneof("change")
            if change is None:
                problems.append("bulk_adjust_price needs percent or delta")
            elif change == "percent":
                problems += _percent_problems(msg.percent)
            else:
                problems += _money_problems("delta", msg.delta, signed=True)
        elif intent == "bulk_set_stock" and not 0 <= msg.quantity <= MAX_QUANTITY:
            problems.append(f"quantity out of range: {msg.quantity}")
        elif intent == "bulk_adjust_stock" and not -MAX_QUANTITY <= msg.delta <= MAX_QUANTITY:
            problems.append(f"delta out of range: {msg.delta}")
    elif intent == "export_report" and msg.report == 0:
        problems.append("report unspecified: sales, orders or products")
    elif intent == "undo" and msg.HasField("count") and not 1 <= msg.count <= MAX_UNDO:
        problems.append(f"undo count must be 1 to {MAX_UNDO}: {msg.count}")
    return problems
