"""A price said in two groups: "one seventy nine" is $1.79 on a pack of gum and $179 on jeans.

The grammar reads "nine ninety nine" as dollars and cents (9.99), the way shelf prices are said.
With a product named, its current price settles it: the reading nearer to it (by ratio) wins, so
"set the jeans to one seventy nine" (jeans at 199) is 179.00 and "socks at nine ninety nine"
(socks at 29) stays 9.99. Without a current price the grammar's reading stands. Either way the
price is read back and runs only on the merchant's "yes": the reading is a guess.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from services.nlu.dialogue import PriceLookup
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.money import from_decimal, to_decimal
from shopvoice.text import normalize

# After normalisation "one seventy nine" is "1 79": a first group of one digit, then two.
_TWO_GROUPS = re.compile(r"(?<![\d.])([1-9]) (\d{2})(?![\d.])")


def hundreds_reading(text: str, price: Decimal) -> Decimal | None:
    """179 when ``text`` said ``price`` (1.79) as "one seventy nine"; None when it was not said so."""
    for found in _TWO_GROUPS.finditer(normalize(text).text):
        if Decimal(f"{found.group(1)}.{found.group(2)}") == price:
            return Decimal(found.group(1) + found.group(2))
    return None


async def read_by_current_price(command: cmd.Command, text: str, merchant_id: str, lookup: PriceLookup) -> bool:
    """Rewrite a two-group set_price to the reading nearer the product's current price, in place.
    True when the price was said in two groups: a reading was chosen, so it is read back first."""
    if command.WhichOneof("intent") != "set_price" or not command.set_price.sku:
        return False
    said = command.set_price.price
    price = to_decimal(said)
    hundreds = hundreds_reading(text, price)
    if hundreds is None:
        return False
    current_money = await lookup(merchant_id, command.set_price.sku)
    current = to_decimal(current_money) if current_money is not None else Decimal(0)
    if current > 0 and abs(math.log(hundreds / current)) < abs(math.log(price / current)):
        command.set_price.price.CopyFrom(from_decimal(hundreds, said.currency_code))
    return True
