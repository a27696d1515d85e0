"""Text to typed command.

A first grammar for set_price (zh and en); the full template parser replaces it.
"""

from __future__ import annotations

import re
from decimal import Decimal

from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.money import from_decimal

_SKU = r"(?P<sku>[A-Za-z]+\s*\d+)"
_AMOUNT = r"(?P<price>\d+(?:\.\d{1,2})?)"
_SET_PRICE = (
    re.compile(rf"^set (?:the )?price of (?:product )?{_SKU} to {_AMOUNT}(?: (?:dollars|yuan|rmb))?$", re.I),
    re.compile(rf"^把{_SKU}的价格(?:改成|改为|设为|调到){_AMOUNT}(?:元|块)?$"),
)


def understand(text: str) -> cmd.Command:
    cleaned = text.strip().rstrip("。.!！")
    for pattern in _SET_PRICE:
        if m := pattern.match(cleaned):
            sku = re.sub(r"\s+", "", m["sku"]).upper()
            price = from_decimal(Decimal(m["price"]))
            return cmd.Command(set_price=cmd.SetPrice(sku=sku, price=price))
    return cmd.Command(unknown=cmd.Unknown(text=text))
