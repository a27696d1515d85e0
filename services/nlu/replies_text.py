"""What the merchant reads back, in the language they spoke (zh or en)."""

from __future__ import annotations

from decimal import Decimal

from shopvoice.common.v1.money_pb2 import Money
from shopvoice.money import format_amount, to_decimal

ORDER_FILTER_ZH = {
    "pending": "待付款",
    "unfulfilled": "待发货",
    "shipped": "已发货",
    "refunded": "已退款",
    "cancelled": "已取消",
}
FULFILLMENT_ZH = {
    "unfulfilled": "待发货",
    "confirmed": "已确认",
    "shipped": "已发货",
    "delivered": "已送达",
    "cancelled": "已取消",
}
PAYMENT_ZH = {
    "pending": "待付款",
    "paid": "已付款",
    "partially_refunded": "部分退款",
    "refunded": "已退款",
    "voided": "已作废",
}
PERIOD_ZH = {
    "today": "今天",
    "yesterday": "昨天",
    "last_7_days": "最近7天",
    "this_week": "本周",
    "this_month": "本月",
    "last_month": "上个月",
    "last_30_days": "最近30天",
    "last_week": "上周",
    "this_year": "今年",
}


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def money(value: Money) -> str:
    amount: Decimal = to_decimal(value)
    currency = value.currency_code or "CNY"
    symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}.get(currency, currency + " ")
    return f"{symbol}{format_amount(amount, currency)}"


def pick(zh: bool, chinese: str, english: str) -> str:
    return chinese if zh else english


# Currencies a Chinese reply names in words; any other keeps its code.
CURRENCY_ZH = {"CNY": "元", "USD": "美元", "EUR": "欧元", "HKD": "港元"}
REPLAYED_ZH = "（之前已经改过，这次没有重复修改）"


def price_changed_zh(sku: str, before: str, after: str, currency: str) -> str:
    return f"{sku} 价格 {before} → {after} {CURRENCY_ZH.get(currency, currency)}"


def stock_now_zh(sku: str, on_hand: int, available: int) -> str:
    return f"{sku} 库存现为 {on_hand} 件（可售 {available} 件）"
