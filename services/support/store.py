"""The support schema: policies, conversation turns, tickets. Every query filters on merchant_id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shopvoice.db import Conn
from shopvoice.support.v1 import support_pb2 as pb

TOPICS = {
    pb.POLICY_TOPIC_SHIPPING: "shipping",
    pb.POLICY_TOPIC_RETURNS: "returns",
    pb.POLICY_TOPIC_ADDRESS_CHANGE: "address_change",
    pb.POLICY_TOPIC_INVOICE: "invoice",
    pb.POLICY_TOPIC_WARRANTY: "warranty",
    pb.POLICY_TOPIC_PAYMENT: "payment",
    pb.POLICY_TOPIC_CANCELLATION: "cancellation",
    pb.POLICY_TOPIC_SERVICE_HOURS: "service_hours",
}
TOPIC_ENUMS = {name: value for value, name in TOPICS.items()}


@dataclass(frozen=True)
class TurnRow:
    question: str
    answer: pb.Answer
    at: datetime


async def policy_text(conn: Conn, merchant_id: str, topic: str, language: str) -> str:
    """The policy in the customer's language, else in the other one, else ''."""
    cur = await conn.execute(
        "SELECT body FROM policies WHERE merchant_id = %s AND topic = %s"
        " ORDER BY (language = %s) DESC, language LIMIT 1",
        (merchant_id, topic, language),
    )
    row = await cur.fetchone()
    return str(row["body"]) if row else ""


async def set_policy(
    conn: Conn, merchant_id: str, topic: str, language: str, body: str, user_id: str
) -> dict[str, Any] | None:
    if not body:
        await conn.execute(
            "DELETE FROM policies WHERE merchant_id = %s AND topic = %s AND language = %s",
            (merchant_id, topic, language),
        )
        return None
    cur = await conn.execute(
        "INSERT INTO policies (merchant_id, topic, language, body, updated_by) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (merchant_id, topic, language) DO UPDATE"
        " SET body = EXCLUDED.body, updated_by = EXCLUDED.updated_by, updated_at = now()"
        " RETURNING merchant_id, topic, language, body, updated_at",
        (merchant_id, topic, language, body, user_id),
    )
    return await cur.fetchone()


async def policies(conn: Conn, merchant_id: str, topic: str = "", language: str = "") -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT merchant_id, topic, language, body, updated_at FROM policies WHERE merchant_id = %s"
        " AND (%s = '' OR topic = %s) AND (%s = '' OR language = %s) ORDER BY topic, language",
        (merchant_id, topic, topic, language, language),
    )
    return list(await cur.fetchall())


async def replay(
    conn: Conn, merchant_id: str, customer_id: str, conversation_id: str, turn_id: str
) -> pb.Answer | None:
    if not turn_id:
        return None
    cur = await conn.execute(
        "SELECT answer FROM turns WHERE merchant_id = %s AND customer_id = %s AND conversation_id = %s AND turn_id = %s",
        (merchant_id, customer_id, conversation_id, turn_id),
    )
    row = await cur.fetchone()
    return pb.Answer.FromString(bytes(row["answer"])) if row else None


async def recent_turns(
    conn: Conn, merchant_id: str, customer_id: str, conversation_id: str, limit: int = 50
) -> list[TurnRow]:
    cur = await conn.execute(
        "SELECT question, answer, created_at FROM turns"
        " WHERE merchant_id = %s AND customer_id = %s AND conversation_id = %s ORDER BY id DESC LIMIT %s",
        (merchant_id, customer_id, conversation_id, limit),
    )
    rows = await cur.fetchall()
    return [TurnRow(r["question"], pb.Answer.FromString(bytes(r["answer"])), r["created_at"]) for r in reversed(rows)]


async def save_turn(
    conn: Conn, merchant_id: str, customer_id: str, conversation_id: str, turn_id: str, question: str, answer: pb.Answer
) -> bool:
    """False when a concurrent retry with the same turn_id saved first."""
    cur = await conn.execute(
        "INSERT INTO turns (merchant_id, customer_id, conversation_id, turn_id, question, answer)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
        (merchant_id, customer_id, conversation_id, turn_id or None, question, answer.SerializeToString()),
    )
    return await cur.fetchone() is not None


async def open_ticket(conn: Conn, merchant_id: str, customer_id: str, conversation_id: str, reason: str) -> str:
    """The conversation's open ticket, opened now if there is none (one per conversation)."""
    cur = await conn.execute(
        "INSERT INTO tickets (merchant_id, customer_id, conversation_id, reason) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (merchant_id, customer_id, conversation_id) WHERE status = 'open' DO NOTHING RETURNING ticket_id",
        (merchant_id, customer_id, conversation_id, reason),
    )
    row = await cur.fetchone()
    if row is None:
        cur = await conn.execute(
            "SELECT ticket_id FROM tickets WHERE merchant_id = %s AND customer_id = %s AND conversation_id = %s"
            " AND status = 'open'",
            (merchant_id, customer_id, conversation_id),
        )
        row = await cur.fetchone()
    assert row is not None
    return str(row["ticket_id"])


async def tickets(conn: Conn, merchant_id: str, status: str, limit: int) -> list[dict[str, Any]]:
    cur = await conn.execute(
        "SELECT * FROM tickets WHERE merchant_id = %s AND (%s = '' OR status = %s) ORDER BY ticket_id DESC LIMIT %s",
        (merchant_id, status, status, limit),
    )
    return list(await cur.fetchall())


async def ticket(conn: Conn, merchant_id: str, ticket_id: int) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT * FROM tickets WHERE merchant_id = %s AND ticket_id = %s", (merchant_id, ticket_id)
    )
    return await cur.fetchone()


async def close_ticket(conn: Conn, merchant_id: str, ticket_id: int) -> dict[str, Any] | None:
    cur = await conn.execute(
        "UPDATE tickets SET status = 'closed', closed_at = coalesce(closed_at, now())"
        " WHERE merchant_id = %s AND ticket_id = %s RETURNING *",
        (merchant_id, ticket_id),
    )
    return await cur.fetchone()


async def add_staff_reply(conn: Conn, ticket: dict[str, Any], author: str, body: str) -> None:
    await conn.execute(
        "INSERT INTO staff_replies (merchant_id, ticket_id, customer_id, conversation_id, author, body)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (ticket["merchant_id"], ticket["ticket_id"], ticket["customer_id"], ticket["conversation_id"], author, body),
    )


async def staff_replies(
    conn: Conn, merchant_id: str, customer_id: str, conversation_id: str, after: int = 0
) -> list[dict[str, Any]]:
    """The staff's replies in one customer's conversation, oldest first, after a message id."""
    cur = await conn.execute(
        "SELECT message_id, ticket_id, body, created_at FROM staff_replies"
        " WHERE merchant_id = %s AND customer_id = %s AND conversation_id = %s AND message_id > %s"
        " ORDER BY message_id",
        (merchant_id, customer_id, conversation_id, after),
    )
    return list(await cur.fetchall())


async def last_turn_at(conn: Conn, merchant_id: str, customer_id: str, conversation_id: str) -> datetime | None:
    cur = await conn.execute(
        "SELECT max(created_at) AS at FROM turns WHERE merchant_id = %s AND customer_id = %s AND conversation_id = %s",
        (merchant_id, customer_id, conversation_id),
    )
    row = await cur.fetchone()
    return row["at"] if row else None
