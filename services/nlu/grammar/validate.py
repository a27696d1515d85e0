"""Schema checks for a Command beyond what protobuf types enforce (DESIGN.md rules).

Used by the property tests on every parse, and by callers that receive commands
from the slow path (the LLM), which must obey the same contract.
"""

from __future__ import annotations

import re
from decimal import Decimal

from services.nlu.grammar.commands import money_to_decimal
from services.nlu.grammar.slots import MAX_QUANTITY
from services.nlu.normalize.amounts import MAX_MONEY
from shopvoice.common.v1.command_pb2 import Command
from shopvoice.common.v1.money_pb2 import Money

CARRIERS = frozenset(
    {"SF", "YTO", "ZTO", "STO", "YUNDA", "EMS", "JD", "UPS", "FEDEX", "DHL", "USPS"}
)
_SKU_CODE = re.compile(r"[A-Z]{1,4}-?\d{1,10}(?:-[A-Z0-9]+)*")
_ORDER_ID = re.compile(r"\d{1,24}")
_TRACKING = re.compile(r"[A-Z0-9]{4,30}")
_PERCENT = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d*[1-9])?")
_SKU_INTENTS = {
    "set_price",
    "adjust_price",
    "set_stock",
    "adjust_stock",
    "query_stock",
    "query_product",
    "set_product_status",
}
_ORDER_INTENTS = {"confirm_order", "ship_order", "cancel_order", "refund_order", "query_order"}


def _money_problems(name: str, money: Money, signed: bool = False) -> list[str]:
    value = money_to_decimal(money)
    problems = []
    if value != value.quantize(Decimal("0.01")):
        problems.append(f"{name} has more than two decimals: {value}")
    if abs(value) > MAX_MONEY or (value < 0 and not signed):
        problems.append(f"{name} out of range: {value}")
    if money.units and money.nanos and (money.units > 0) != (money.nanos > 0):
        problems.append(f"{name} units and nanos differ in sign")
    return problems


def _sku_problems(sku: str, required: bool) -> list[str]:
    if not sku:
        return ["sku missing"] if required else []
    if sku != sku.strip() or len(sku) > 80 or any(ord(c) < 32 for c in sku):
        return [f"sku is not a clean title or code: {sku!r}"]
    if (
        sku.isascii()
        and sku.isalnum()
        and any(c.isdigit() for c in sku)
        and (not _SKU_CODE.fullmatch(sku))
    ):
        return [f"sku code is not upper-case letters then digits: {sku!r}"]
    return []


def validate_command(command: Command, allow_missing: bool = False) -> list[str]:
    """Problems with ``command``; an empty list means it obeys the contract.

    ``allow_missing``: a product or order not said at all ("ship it") is fine; the
    dialogue fills it from context or asks. The parser's answers are checked this
    way; a command about to be dispatched is checked strictly.
    """
    intent = command.WhichOneof("intent")
    if intent is None:
        return ["no intent set"]
    msg = getattr(command, intent)
    problems: list[str] = []
    if intent in _SKU_INTENTS:
        problems += _sku_problems(msg.sku, required=not allow_missing)
    if intent in _ORDER_INTENTS and not (allow_missing and not msg.order_id) and not _ORDER_ID.fullmatch(msg.order_id):
        problems.append(f"order_id must be digits: {msg.order_id!r}")
    if intent == "set_price":
        if not msg.HasField("price"):
            problems.append("price missing")
        problems += _money_problems("price", msg.price)
    elif intent == "adjust_price":
        change = msg.WhichOneof("change")
        if change is None:
            problems.append("adjust_price needs percent or delta")
        elif change == "percent":
            if not _PERCENT.fullmatch(msg.percent) or not -100 <= Decimal(msg.percent) <= 1000:
                problems.append(f"percent is not a decimal string in range: {msg.percent!r}")
        else:
            problems += _money_problems("delta", msg.delta, signed=True)
    elif intent in ("set_stock", "adjust_stock"):
        value = msg.quantity if intent == "set_stock" else msg.delta
        if not -MAX_QUANTITY <= value <= MAX_QUANTITY or (intent == "set_stock" and value < 0):
            problems.append(f"quantity out of range: {value}")
    elif intent == "create_product":
        if not msg.title.strip():
            problems.append("title missing")
        if not msg.HasField("price"):
            problems.append("price missing")
        problems += _money_problems("price", msg.price)
        if msg.HasField("quantity") and not 0 <= msg.quantity <= MAX_QUANTITY:
            problems.append(f"quantity out of range: {msg.quantity}")
        if msg.HasField("sku"):
            problems += _sku_problems(msg.sku, required=True)
    elif intent == "set_product_status" and msg.status == 0:
        problems.append("status unspecified")
    elif intent == "ship_order":
        if msg.HasField("carrier") and msg.carrier not in CARRIERS:
            problems.append(f"unknown carrier {msg.carrier!r}")
        if msg.HasField("tracking_number") and not _TRACKING.fullmatch(msg.tracking_number):
            problems.append(f"tracking number not upper-case alphanumeric: {msg.tracking_number!r}")
    elif intent == "refund_order" and msg.HasField("amount"):
        problems += _money_problems("amount", msg.amount)
    elif intent == "sales_report":
        if msg.metric == 0:
            problems.append("metric unspecified")
        if msg.HasField("sku"):
            problems += _sku_problems(msg.sku, required=True)
    return problems
