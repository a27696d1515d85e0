"""Inventory held for orders: reserve (available → committed), release, commit
on shipping (on_hand and committed both drop) and restock on a refund.

All lines of an order are reserved together or not at all. Variants are locked
in SKU order, so concurrent multi-line orders cannot deadlock, and the check
`available >= quantity` runs under the lock, so stock is never oversold (the
table's CHECK (committed <= on_hand) is the last line of defence).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from services.catalog import store
from services.catalog.events import CatalogEvents
from services.catalog.messages import Row
from services.catalog.validation import MAX_QUANTITY, validate_order_id
from shopvoice.db import Conn
from shopvoice.errors import FailedPrecondition, InvalidArgument, NotFound
from shopvoice.identifiers import validate_sku

MAX_LINES = 500

Lines = dict[str, int]  # sku -> quantity, one entry per SKU


@dataclass
class Outcome:
    """What a reservation call did, for the RPC reply and the event."""

    order_id: str
    accepted: bool
    reason: str = ""
    lines: Lines = field(default_factory=dict)


def parse_lines(pairs: Iterable[tuple[str, int]], required: bool = True) -> Lines:
    """Validated lines with repeated SKUs summed."""
    lines: Lines = {}
    for sku, quantity in pairs:
        validate_sku(sku)
        if quantity <= 0 or quantity > MAX_QUANTITY:
            raise InvalidArgument(f"quantity of {sku} must be between 1 and {MAX_QUANTITY:,} (got {quantity})")
        lines[sku] = lines.get(sku, 0) + quantity
    if required and not lines:
        raise InvalidArgument("an order needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidArgument(f"an order has at most {MAX_LINES} lines")
    return lines


async def _held_lines(conn: Conn, merchant_id: str, order_id: str) -> dict[str, Row]:
    cur = await conn.execute(
        "SELECT sku, reserved, shipped, restocked FROM reservation_lines WHERE merchant_id = %s AND order_id = %s"
        " ORDER BY sku FOR UPDATE",
        (merchant_id, order_id),
    )
    return {r["sku"]: dict(r) for r in await cur.fetchall()}


@dataclass(frozen=True)
class Move:
    """How one SKU's numbers change: on the variant (on_hand, committed) and on
    the order's line (reserved follows committed; shipped; restocked)."""

    on_hand: int = 0
    committed: int = 0
    shipped: int = 0
    restocked: int = 0


async def _move(conn: Conn, events: CatalogEvents, merchant_id: str, order_id: str, moves: dict[str, Move]) -> None:
    """Apply per-SKU moves, SKUs in order, each with its StockChanged event."""
    for sku in sorted(moves):
        move = moves[sku]
        cur = await conn.execute(
            "UPDATE variants SET on_hand = on_hand + %s, committed = committed + %s, version = version + 1,"
            " updated_at = now() WHERE merchant_id = %s AND sku = %s RETURNING on_hand, committed",
            (move.on_hand, move.committed, merchant_id, sku),
        )
        row = await cur.fetchone()
        if row is None:  # the variant vanished under a held reservation: nothing we can fix here
            raise FailedPrecondition(f"SKU {sku} of order {order_id} no longer exists")
        await conn.execute(
            "UPDATE reservation_lines SET reserved = reserved + %s, shipped = shipped + %s, restocked = restocked + %s"
            " WHERE merchant_id = %s AND order_id = %s AND sku = %s",
            (move.committed, move.shipped, move.restocked, merchant_id, order_id, sku),
        )
        await events.stock_changed(conn, merchant_id, sku, row["on_hand"], row["committed"])


async def _set_status(conn: Conn, merchant_id: str, order_id: str, status: str, reason: str = "") -> None:
    await conn.execute(
        "UPDATE reservations SET status = %s, reason = %s, updated_at = now() WHERE merchant_id = %s AND order_id = %s",
        (status, reason, merchant_id, order_id),
    )


async def reserve(conn: Conn, events: CatalogEvents, merchant_id: str, order_id: str, lines: Lines) -> Outcome:
    """Hold every line of the order, or none; publish the decision."""
    validate_order_id(order_id)
    cur = await conn.execute(
        "INSERT INTO reservations (merchant_id, order_id, status) VALUES (%s, %s, 'reserved')"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (merchant_id, order_id),
    )
    if await cur.fetchone() is None:
        # Decided before (or being decided now: FOR UPDATE waits for that transaction).
        cur = await conn.execute(
            "SELECT status, reason FROM reservations WHERE merchant_id = %s AND order_id = %s FOR UPDATE",
            (merchant_id, order_id),
        )
        existing = await cur.fetchone()
        assert existing is not None
        if existing["status"] != "refused":
            held = await _held_lines(conn, merchant_id, order_id)
            accepted = existing["status"] != "released"
            reason = "" if accepted else "the order was cancelled and its stock released"
            return Outcome(order_id, accepted, reason, {s: r["reserved"] + r["shipped"] for s, r in held.items()})
        # Refused before: stock may have arrived since, so decide again.
    variants = await store.variants_for_update(conn, merchant_id, list(lines))
    shortages = []
    for sku, quantity in sorted(lines.items()):
        row = variants.get(sku)
        if row is None:
            shortages.append(f"{sku} is not in this shop")
        elif row["on_hand"] - row["committed"] < quantity:
            shortages.append(f"{sku}: {row['on_hand'] - row['committed']} available, {quantity} ordered")
    if shortages:
        reason = "not enough stock: " + "; ".join(shortages)
        await _set_status(conn, merchant_id, order_id, "refused", reason)
        await events.reservation_decided(conn, merchant_id, order_id, False, reason)
        return Outcome(order_id, False, reason, lines)
    await _set_status(conn, merchant_id, order_id, "reserved")
    await conn.execute(
        "INSERT INTO reservation_lines (merchant_id, order_id, sku, reserved)"
        " SELECT %s, %s, sku, 0 FROM unnest(%s::text[]) AS l(sku)",
        (merchant_id, order_id, list(lines)),
    )
    await _move(conn, events, merchant_id, order_id, {sku: Move(committed=q) for sku, q in lines.items()})
    await events.reservation_decided(conn, merchant_id, order_id, True, "")
    return Outcome(order_id, True, "", lines)


async def _reservation(conn: Conn, merchant_id: str, order_id: str) -> Row:
    validate_order_id(order_id)
    cur = await conn.execute(
        "SELECT status, reason FROM reservations WHERE merchant_id = %s AND order_id = %s FOR UPDATE",
        (merchant_id, order_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no reservation for order {order_id} in this shop")
    return dict(row)


async def release(conn: Conn, events: CatalogEvents, merchant_id: str, order_id: str, lines: Lines) -> Outcome:
    """Give held units back to available: the lines named (at most what is held), or all."""
    reservation = await _reservation(conn, merchant_id, order_id)
    if reservation["status"] != "reserved":
        raise FailedPrecondition(f"order {order_id} is {reservation['status']}; it holds no stock to release")
    held = await _held_lines(conn, merchant_id, order_id)
    wanted = lines or {sku: r["reserved"] for sku, r in held.items()}
    unknown = sorted(set(wanted) - set(held))
    if unknown:
        raise InvalidArgument(f"order {order_id} holds no {', '.join(unknown)}")
    released = {sku: min(q, held[sku]["reserved"]) for sku, q in wanted.items() if held[sku]["reserved"]}
    await store.variants_for_update(conn, merchant_id, list(released))
    await _move(conn, events, merchant_id, order_id, {sku: Move(committed=-q) for sku, q in released.items()})
    if all(r["reserved"] == released.get(sku, 0) for sku, r in held.items()):
        await _set_status(conn, merchant_id, order_id, "released")
    return Outcome(order_id, True, "", released)


async def commit(conn: Conn, events: CatalogEvents, merchant_id: str, order_id: str) -> Outcome:
    """The order shipped: what it holds leaves the warehouse (on_hand and committed drop)."""
    reservation = await _reservation(conn, merchant_id, order_id)
    held = await _held_lines(conn, merchant_id, order_id)
    if reservation["status"] == "committed":
        return Outcome(order_id, True, "already shipped", {s: r["shipped"] for s, r in held.items()})
    if reservation["status"] != "reserved":
        raise FailedPrecondition(f"order {order_id} is {reservation['status']}; there is nothing to ship from stock")
    shipping = {sku: r["reserved"] for sku, r in held.items() if r["reserved"]}
    await store.variants_for_update(conn, merchant_id, list(shipping))
    await _move(
        conn,
        events,
        merchant_id,
        order_id,
        {sku: Move(on_hand=-q, committed=-q, shipped=q) for sku, q in shipping.items()},
    )
    await _set_status(conn, merchant_id, order_id, "committed")
    return Outcome(order_id, True, "", shipping)


async def restock(conn: Conn, events: CatalogEvents, merchant_id: str, order_id: str, lines: Lines) -> Outcome:
    """A refund that puts goods back: units still held are released, shipped units
    return to on_hand (never more than were shipped and not yet restocked)."""
    reservation = await _reservation(conn, merchant_id, order_id)
    if reservation["status"] not in ("reserved", "committed"):
        raise FailedPrecondition(f"order {order_id} is {reservation['status']}; nothing of it can be restocked")
    held = await _held_lines(conn, merchant_id, order_id)
    wanted = lines or {sku: r["reserved"] + r["shipped"] - r["restocked"] for sku, r in held.items()}
    moves: dict[str, Move] = {}
    done: Lines = {}
    for sku, quantity in wanted.items():
        line = held.get(sku)
        if line is None:
            continue
        unhold = min(quantity, line["reserved"])
        back = min(quantity - unhold, line["shipped"] - line["restocked"])
        if unhold or back:
            moves[sku] = Move(on_hand=back, committed=-unhold, restocked=back)
            done[sku] = unhold + back
    await store.variants_for_update(conn, merchant_id, list(moves))
    await _move(conn, events, merchant_id, order_id, moves)
    return Outcome(order_id, True, "", done)
