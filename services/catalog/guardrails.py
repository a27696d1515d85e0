"""The merchant's guardrail policy: which changes need a person's confirmation.

The rules themselves live in one SQL function, `guardrail_check` (migration 0008), so
the general path (here, inside the change's transaction, under the variant's row lock)
and the one-statement fast path (fastpath.py, through `guarded_variant_change`) apply
the same rule to the same rows:

- price_window: a SKU's price would move more than the policy's percent (default 20)
  from its lowest (a rise) or highest (a cut) price within the window (default 24 h);
  a confirmed change authorises its price, and the window restarts there;
- bulk: one operation changes more than the policy's threshold of products (default 50),
  counted by its command id and by the bulk size the caller declares, whichever is more.

Without `Mutation.confirmation` such a change is refused with FAILED_PRECONDITION and a
message "needs confirmation (<rules>): <reason>", nothing written; the NLU turns it into
the question. With it, the change records who confirmed it and which rule asked.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from google.protobuf.timestamp_pb2 import Timestamp

from services.catalog.messages import Row
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.common.v1.mutation_pb2 import ChangeRecord, Mutation
from shopvoice.db import Conn
from shopvoice.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from shopvoice.money import format_amount

# What a refusal's message starts with; the NLU recognises a guardrail's question by it.
NEEDS_CONFIRMATION = "needs confirmation"
MAX_PERCENT = Decimal(1000)


def refusal(rule: str, reason: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"{NEEDS_CONFIRMATION} ({rule}): {reason}; resend with a confirmation naming who confirmed"
    )


def confirmed_by(mutation: Mutation) -> str:
    return mutation.confirmation.user_id if mutation.HasField("confirmation") else ""


async def check(
    conn: Conn, merchant_id: str, mutation: Mutation, sku: str, old: Decimal | None = None, new: Decimal | None = None
) -> str:
    """The rules that ask about this change ("" = none); refused when one asks and nobody confirmed."""
    cur = await conn.execute(
        "SELECT rule, reason FROM guardrail_check(%s, %s, %s, %s::numeric, %s::numeric, %s::int)",
        (merchant_id, sku, mutation.actor.command_id, old, new, mutation.bulk_size),
    )
    row = await cur.fetchone()
    rule = (row["rule"] if row else None) or ""
    if rule and not confirmed_by(mutation):
        raise refusal(rule, row["reason"] if row else "")
    return rule


async def stamp(conn: Conn, merchant_id: str, change_id: str, mutation: Mutation, rule: str) -> None:
    """Record on the change who confirmed it and which rule asked (when either is known)."""
    who = confirmed_by(mutation)
    if who or rule:
        await conn.execute(
            "UPDATE changes SET confirmed_by = %s, rule = %s WHERE merchant_id = %s AND change_id = %s",
            (who, rule, merchant_id, change_id),
        )


def record(
    mutation: Mutation, change_id: str, sku: str, field: str, before: str, after: str, rule: str = ""
) -> ChangeRecord:
    return ChangeRecord(
        change_id=change_id,
        subject=sku,
        field=field,
        before=before,
        after=after,
        requested_by=mutation.actor.user_id,
        command_id=mutation.actor.command_id,
        confirmed_by=confirmed_by(mutation),
        rule=rule,
    )


def price_record(mutation: Mutation, change_id: str, row: Row, old: Decimal, rule: str = "") -> ChangeRecord:
    currency = row["currency_code"]
    return record(
        mutation,
        change_id,
        row["sku"],
        "price",
        format_amount(old, currency),
        format_amount(row["price"], currency),
        rule,
    )


# -- the policy -------------------------------------------------------------------------------


def to_message(merchant_id: str, row: Row) -> pb.GuardrailPolicy:
    policy = pb.GuardrailPolicy(
        merchant_id=merchant_id,
        price_change_percent=f"{Decimal(row['price_change_percent']).normalize():f}",
        price_window_hours=row["price_window_hours"],
        bulk_threshold=row["bulk_threshold"],
        is_default=row["updated_at"] is None,
        updated_by=row["updated_by"],
    )
    if row["updated_at"] is not None:
        stamp_at = Timestamp()
        stamp_at.FromDatetime(row["updated_at"])
        policy.updated_at.CopyFrom(stamp_at)
    return policy


async def read(conn: Conn, merchant_id: str) -> Row:
    cur = await conn.execute("SELECT * FROM guardrail_policy(%s)", (merchant_id,))
    row = await cur.fetchone()
    assert row is not None  # the function always answers (the defaults)
    return dict(row)


def parse_percent(text: str) -> Decimal:
    try:
        percent = Decimal(text.strip().rstrip("%"))
    except InvalidOperation as exc:
        raise InvalidArgument(f'price_change_percent {text[:40]!r} is not a number; say it like "15"') from exc
    if not percent.is_finite() or percent <= 0 or percent > MAX_PERCENT:
        raise InvalidArgument(f"price_change_percent must be above 0 and at most {MAX_PERCENT}; got {percent}")
    if percent != percent.quantize(Decimal("0.01")):
        raise InvalidArgument(f"price_change_percent takes at most two decimals; got {percent}")
    return percent


async def change(conn: Conn, merchant_id: str, request: pb.SetGuardrailPolicyRequest) -> Row:
    """The owner's new policy; fields not given keep their value (from the defaults the first time)."""
    actor = request.mutation.actor
    if actor.role != "owner":
        raise PermissionDenied(
            f"only the shop's owner may change the confirmation limits ({actor.role or 'no role'} may read them)"
        )
    current = await read(conn, merchant_id)
    percent = (
        parse_percent(request.price_change_percent)
        if request.HasField("price_change_percent")
        else current["price_change_percent"]
    )
    hours = request.price_window_hours if request.HasField("price_window_hours") else current["price_window_hours"]
    if not 1 <= hours <= 720:
        raise InvalidArgument(f"price_window_hours must be 1 to 720 (30 days); got {hours}")
    bulk = request.bulk_threshold if request.HasField("bulk_threshold") else current["bulk_threshold"]
    if not 1 <= bulk <= 100_000:
        raise InvalidArgument(f"bulk_threshold must be 1 to 100000 products; got {bulk}")
    await conn.execute(
        "INSERT INTO guardrail_policies (merchant_id, price_change_percent, price_window_hours, bulk_threshold,"
        " updated_by) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (merchant_id) DO UPDATE SET"
        " price_change_percent = EXCLUDED.price_change_percent, price_window_hours = EXCLUDED.price_window_hours,"
        " bulk_threshold = EXCLUDED.bulk_threshold, updated_by = EXCLUDED.updated_by, updated_at = now()",
        (merchant_id, percent, hours, bulk, actor.user_id),
    )
    return await read(conn, merchant_id)
