"""History of price, stock and status changes: who, when, which command, and the
value before, so that `undo` can put back exactly what a change replaced.

A change records the version it left the variant (or, for status, the product)
at; undo is allowed only while that version is still current, i.e. nothing
(another edit, an order's reservation or shipment) touched the SKU since.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shopvoice.common.v1.mutation_pb2 import Actor
from shopvoice.db import Conn
from shopvoice.errors import FailedPrecondition, InvalidArgument, NotFound


@dataclass(frozen=True)
class Author:
    """Who made a change and through which RPC and command."""

    user_id: str
    command_id: str
    method: str

    @classmethod
    def of(cls, actor: Actor, method: str) -> Author:
        return cls(actor.user_id, actor.command_id, method)


async def record(
    conn: Conn,
    merchant_id: str,
    sku: str,
    kind: str,
    old: str,
    new: str,
    author: Author,
    version_after: int,
    undo_of: str | None = None,
) -> str:
    """Append one change; returns its id (made here, so no RETURNING is needed)."""
    change_id = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO changes (change_id, merchant_id, sku, kind, old_value, new_value, user_id, command_id, method,"
        " version_after, undo_of) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            change_id,
            merchant_id,
            sku,
            kind,
            old,
            new,
            author.user_id,
            author.command_id,
            author.method,
            version_after,
            undo_of,
        ),
    )
    if undo_of is not None:
        await conn.execute(
            "UPDATE changes SET undone_by = %s WHERE merchant_id = %s AND change_id = %s",
            (change_id, merchant_id, undo_of),
        )
    return change_id


async def change_to_undo(conn: Conn, merchant_id: str, user_id: str, change_id: str) -> dict[str, Any]:
    """The change to revert, locked: the one named, or the user's last one that
    was not itself an undo. Locked so two undos of one change cannot both pass."""
    if change_id:
        try:
            uuid.UUID(change_id)
        except ValueError as exc:
            raise InvalidArgument(f"change_id {change_id[:80]!r} is not a change id") from exc
        cur = await conn.execute(
            "SELECT * FROM changes WHERE merchant_id = %s AND change_id = %s FOR UPDATE", (merchant_id, change_id)
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no change {change_id} in this shop")
    else:
        cur = await conn.execute(
            "SELECT * FROM changes WHERE merchant_id = %s AND user_id = %s AND undo_of IS NULL"
            " ORDER BY seq DESC LIMIT 1 FOR UPDATE",
            (merchant_id, user_id),
        )
        row = await cur.fetchone()
        if row is None:
            raise FailedPrecondition("there is no change of yours to undo")
    if row["undo_of"] is not None:
        raise FailedPrecondition(f"change {row['change_id']} is itself an undo; make the change again instead")
    if row["undone_by"] is not None:
        raise FailedPrecondition(
            f"your last change ({row['kind']} of {row['sku']}) was already undone; nothing more to undo"
        )
    return dict(row)


async def refuse_if_changed_since(conn: Conn, change: dict[str, Any], current_version: int) -> None:
    """FAILED_PRECONDITION, saying what happened, when the SKU moved on since `change`."""
    if current_version == change["version_after"]:
        return
    cur = await conn.execute(
        "SELECT kind, method, user_id FROM changes WHERE merchant_id = %s AND sku = %s AND seq > %s"
        " AND (kind = 'status') = (%s = 'status') ORDER BY seq DESC LIMIT 1",
        (change["merchant_id"], change["sku"], change["seq"], change["kind"]),
    )
    later = await cur.fetchone()
    if later is not None:
        who = f" by {later['user_id']}" if later["user_id"] else ""
        since = f"its {later['kind']} was changed{who} ({later['method']})"
    else:
        since = "an order reserved, released or shipped some of its stock"
    raise FailedPrecondition(
        f"cannot undo the {change['kind']} change of {change['sku']}: {since} after it;"
        " check the current value and set it directly"
    )
