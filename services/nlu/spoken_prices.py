"""A price said in two groups: "one seventy nine" is $1.79 on a pack of gum and $179 on jeans.

The grammar reads "nine ninety nine" as dollars and cents (9.99), the way shelf prices are said.
With a product named, its current price settles it: the reading nearer to it (by ratio) wins, so
"set the jeans to one seventy nine" (jeans at 199) is 179.00 and "socks at nine ninety nine"
(socks at 29) stays 9.99. A list of products ("the grey and the red hoodie both at two nineteen")
is judged by the median of their prices, and a new product ("add a green hoodie at two forty nine")
by the median of the shop's. Without a current price the grammar's reading stands. Either way the
price is read back and runs only on the merchant's "yes": the reading is a guess.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from decimal import Decimal
from statistics import median

from services.nlu.dialogue import PriceLookup
from services.nlu.llm.ground import TWO_GROUPS
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.money import from_decimal, to_decimal
from shopvoice.text import normalize

# A new product is judged against this many of the shop's products (one price lookup each).
SHOP_SAMPLE = 15


def hundreds_reading(text: str, price: Decimal) -> Decimal | None:
    """179 when ``text`` said ``price`` (1.79) as "one seventy nine"; None when it was not said so."""
    for found in TWO_GROUPS.finditer(normalize(text).text):
        if Decimal(f"{found.group(1)}.{found.group(2)}") == price:
            return Decimal(found.group(1) + found.group(2))
    return None


async def read_by_current_price(
    command: cmd.Command, text: str, merchant_id: str, lookup: PriceLookup, shop: Sequence[tuple[str, str]] = ()
) -> bool:
    """Rewrite a two-group price to the reading nearer the current prices, in place: the named
    product's, the median of a list's (bulk_set_price), or for a new product the median of the
    shop's (``shop``: its (SKU, title) pairs, of which SHOP_SAMPLE are looked up). True when the price was said in two groups:
    a reading was chosen, so it is read back first."""
    intent = command.WhichOneof("intent")
    if intent == "set_price" and command.set_price.sku:
        money, skus = command.set_price.price, [command.set_price.sku]
    elif intent == "bulk_set_price" and command.bulk_set_price.skus:
        money, skus = command.bulk_set_price.price, list(command.bulk_set_price.skus)
    elif intent == "create_product" and command.create_product.HasField("price"):
        money, skus = command.create_product.price, [sku for sku, _ in shop[:SHOP_SAMPLE]]
    else:
        return False
    price = to_decimal(money)
    hundreds = hundreds_reading(text, price)
    if hundreds is None:
        return False
    found = await asyncio.gather(*(lookup(merchant_id, sku) for sku in skus))
    currents = [to_decimal(m) for m in found if m is not None and to_decimal(m) > 0]
    current = median(currents) if currents else Decimal(0)
    if current > 0 and abs(math.log(hundreds / current)) < abs(math.log(price / current)):
        money.CopyFrom(from_decimal(hundreds, money.currency_code))
    return True
