"""Stock a merchant sets or adjusts: on_hand moves, committed (held for orders)
does not, and available = on_hand - committed never goes below zero."""

from __future__ import annotations

from services.catalog import history, summaries
from services.catalog.events import CatalogEvents
from services.catalog.messages import Row
from services.catalog.validation import MAX_QUANTITY, validate_quantity
from shopvoice.db import Conn
from shopvoice.errors import FailedPrecondition, InvalidArgument


def new_on_hand(row: Row, quantity: int | None = None, delta: int | None = None) -> int:
    """The on-hand count after a set or an adjustment, or a refusal saying why."""
    if quantity is not None:
        target = validate_quantity(quantity)
    else:
        assert delta is not None
        if delta == 0:
            raise InvalidArgument("delta is 0; say how many units to add (positive) or remove (negative)")
        if abs(delta) > MAX_QUANTITY:
            raise InvalidArgument(f"delta {delta} is more than {MAX_QUANTITY:,} units; check the number")
        target = row["on_hand"] + delta
        if target < 0:
            raise InvalidArgument(
                f"{row['sku']} has {row['on_hand']} on hand; removing {-delta} would make stock negative"
            )
        validate_quantity(target, "resulting stock")
    if target < row["committed"]:
        raise FailedPrecondition(
            f"{row['committed']} units of {row['sku']} are reserved for orders; on hand cannot go below that"
            f" (asked for {target}); cancel or ship those orders first"
        )
    return target


async def change_on_hand(
    conn: Conn,
    events: CatalogEvents,
    merchant_id: str,
    row: Row,
    on_hand: int,
    author: history.Author,
    undo_of: str | None = None,
) -> tuple[Row, str, str]:
    """Write the new on-hand count of a locked variant, its history and its event."""
    sku, old = row["sku"], row["on_hand"]
    await conn.execute(
        "UPDATE variants SET on_hand = %s, version = version + 1, updated_at = now()"
        " WHERE merchant_id = %s AND sku = %s",
        (on_hand, merchant_id, sku),
    )
    after = {**row, "on_hand": on_hand, "version": row["version"] + 1}
    change_id = await history.record(
        conn, merchant_id, sku, "stock", str(old), str(on_hand), author, after["version"], undo_of
    )
    await events.stock_changed(conn, merchant_id, sku, on_hand, row["committed"], change_id)
    summary = summaries.stock_change(sku, old, on_hand, row["committed"])
    return after, change_id, summary
