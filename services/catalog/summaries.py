"""The one-line summaries of a price or stock change, as every path writes them.

The general path (pricing.py, inventory.py) and the one-statement fast path
(fastpath.py) answer the same change with the same words, first time or replayed.
"""

from __future__ import annotations

from decimal import Decimal

from shopvoice.money import format_amount


def price_change(sku: str, old: Decimal, new: Decimal, currency: str) -> str:
    return f"{sku} price {format_amount(old, currency)} → {format_amount(new, currency)} {currency}"


def stock_change(sku: str, old_on_hand: int, on_hand: int, committed: int) -> str:
    return f"{sku} stock {old_on_hand} → {on_hand} on hand ({on_hand - committed} available)"
