"""Prices: set one, or adjust by a delta or a percentage, rounded to the
currency's minor unit half-even (banker's rounding: 5.025 → 5.02, 5.035 → 5.04)."""

from __future__ import annotations

from decimal import Decimal

from services.catalog import history, summaries
from services.catalog.events import CatalogEvents
from services.catalog.messages import Row
from services.catalog.validation import check_amount, money_value
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.db import Conn
from shopvoice.errors import InvalidArgument
from shopvoice.money import MoneyError, format_amount, parse_decimal, quantize

HUNDRED = Decimal(100)
# "+1000%" is a typo more often than a price rise; the ceiling still applies too.
MAX_PERCENT = Decimal(1000)


def parse_percent(text: str) -> Decimal:
    try:
        percent = parse_decimal(text.strip().rstrip("%"))
    except MoneyError as exc:
        raise InvalidArgument(f'percent {text[:40]!r} is not a number; say it like "-20" for 20% off') from exc
    if percent < -HUNDRED:
        raise InvalidArgument(f"percent {percent} would make the price negative; the lowest is -100")
    if percent > MAX_PERCENT:
        raise InvalidArgument(f"percent {percent} is more than +{MAX_PERCENT}%; check the number")
    return percent


def adjusted_price(old: Decimal, currency: str, percent: Decimal | None, delta: Decimal | None) -> Decimal:
    """The new price: old × (1 + percent/100), or old + delta, at the currency's minor unit."""
    if percent is not None:
        new = old * (1 + percent / HUNDRED)
    elif delta is not None:
        new = old + delta
    else:
        raise InvalidArgument('say how to change the price: a percent ("-20") or a delta amount')
    return quantize(new, currency)


def new_price_for(row: Row, percent_text: str | None, delta: Money | None, ceiling: Decimal) -> Decimal:
    currency = row["currency_code"]
    percent = parse_percent(percent_text) if percent_text is not None else None
    delta_value = money_value(delta, currency, "delta") if delta is not None else None
    new = adjusted_price(row["price"], currency, percent, delta_value)
    if new < 0:
        raise InvalidArgument(
            f"lowering {row['sku']} by {format_amount(-delta_value if delta_value else Decimal(0), currency)}"
            f" would make its price negative (it is {format_amount(row['price'], currency)} {currency})"
        )
    return check_amount(new, currency, ceiling)


async def change_price(
    conn: Conn,
    events: CatalogEvents,
    merchant_id: str,
    row: Row,
    price: Decimal,
    author: history.Author,
    undo_of: str | None = None,
) -> tuple[Row, str, str]:
    """Write the new price of a locked variant, its history and its event.

    Returns the row as it now is, the change id and a one-line summary."""
    sku, currency, old = row["sku"], row["currency_code"], row["price"]
    await conn.execute(
        "UPDATE variants SET price = %s, version = version + 1, updated_at = now() WHERE merchant_id = %s AND sku = %s",
        (price, merchant_id, sku),
    )
    after = {**row, "price": price, "version": row["version"] + 1}
    change_id = await history.record(
        conn,
        merchant_id,
        sku,
        "price",
        format_amount(old, currency),
        format_amount(price, currency),
        author,
        after["version"],
        undo_of,
    )
    await events.price_changed(conn, merchant_id, sku, old, price, currency, change_id)
    summary = summaries.price_change(sku, old, price, currency)
    return after, change_id, summary
