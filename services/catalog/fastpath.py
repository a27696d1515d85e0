"""The hot path of SetPrice, AdjustPrice, SetStock and AdjustStock: one statement per call.

The general path (`Mutations.run` with a `_change_variant` change) takes about
ten round trips and re-reads the product. Here one call of the SQL function
`apply_variant_change` (migration 0004; AdjustPrice through 0005's
`apply_price_adjustment`, which computes the new price from the locked row), run in autocommit so that it is its own
transaction, locks the variant, looks up the key, checks the expected version
and the row-dependent rules, updates the row, writes the history row, the
outbox event and the key with the rows to replay, and returns the product's
rows. Same order of checks, same errors, same messages as the general path:

- what can be refused without the row (a missing key, delta 0, a malformed
  Money, a percent that is not a number, ...) is not tried here: `key_ok`,
  `price_value`, `percent_value` and `stock_ok` say no
  and the general path answers, so its order of checks (lock, claim, version,
  then rules) holds;
- a row-dependent refusal comes back as the row, and the general path's own
  check (`validate_price`, `inventory.new_on_hand`) explains it from that row;
  a refusal writes nothing;
- anything the two disagree on goes to the general path.

Whether a request takes this path depends on the request alone, so a retry
takes the path its first call took, and finds the first call's rows to replay.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NoReturn

from psycopg import errors as pg_errors

from services.catalog import guardrails, history, store, summaries
from services.catalog.messages import Row, to_product
from services.catalog.mutations import broken_rule, expected_version
from services.catalog.pricing import parse_percent
from services.catalog.validation import MAX_QUANTITY
from shopvoice import idempotency, outbox
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import ChangeRecord, Mutation
from shopvoice.db import Pool
from shopvoice.errors import InvalidArgument
from shopvoice.identifiers import require_merchant
from shopvoice.money import MINOR_UNITS, MoneyError, format_amount, minor_digits, to_decimal

CHANGE = (
    "SELECT * FROM guarded_variant_change(%(confirmed_by)s, %(bulk_size)s::int, %(m)s, %(key)s, %(method)s, %(hash)s, %(sku)s, %(expected)s::bigint,"
    " %(price)s::numeric, %(currencies)s::text[], %(digits)s::int[], %(ceiling)s::numeric, %(quantity)s::bigint,"
    " %(delta)s::bigint, %(max_quantity)s::bigint, %(change_id)s::uuid, %(user)s, %(command)s, %(event_head)s,"
    " %(event_id)s::uuid, %(stream)s)"
)
ADJUST = (
    "SELECT * FROM guarded_price_adjustment(%(confirmed_by)s, %(bulk_size)s::int, %(m)s, %(key)s, %(method)s, %(hash)s, %(sku)s, %(expected)s::bigint,"
    " %(percent)s::numeric, %(price_delta)s::numeric, %(currencies)s::text[], %(digits)s::int[], %(ceiling)s::numeric,"
    " %(max_quantity)s::bigint, %(change_id)s::uuid, %(user)s, %(command)s, %(event_head)s, %(event_id)s::uuid,"
    " %(stream)s)"
)
# Percents with more decimals take the general path: with at most these, dividing by
# 100 in Postgres' numeric is exact, so SQL and Python round the same number.
PERCENT_DECIMALS = 4
# The statement fails on this constraint when a concurrent call took the key
# with other arguments (see migration 0004).
KEY_TAKEN = "idempotency_keys_pkey"


class Fallback(Exception):
    """The fast path cannot answer this call; the general path will."""


def key_ok(mutation: Mutation) -> bool:
    return 0 < len(mutation.idempotency_key) <= 200


def price_value(money: Money) -> tuple[Decimal, list[str]] | None:
    """The exact price and the shop currencies it is valid in, or None (let the general path say why)."""
    try:
        value = to_decimal(money)
    except MoneyError:
        return None
    digits = minor_digits(value.normalize())
    candidates = [money.currency_code] if money.currency_code else list(MINOR_UNITS)
    return value, [c for c in candidates if c in MINOR_UNITS and digits <= MINOR_UNITS[c]]


def percent_value(text: str) -> Decimal | None:
    """The percent of an AdjustPrice, or None (let the general path say why)."""
    try:
        percent = parse_percent(text)
    except InvalidArgument:
        return None
    return percent if minor_digits(percent.normalize()) <= PERCENT_DECIMALS else None


def stock_ok(quantity: int | None, delta: int | None) -> bool:
    if quantity is not None:
        return 0 <= quantity <= MAX_QUANTITY
    return delta is not None and delta != 0 and abs(delta) <= MAX_QUANTITY


class FastChanges:
    """The fast path over `pool`, whose connections must be in autocommit
    (`db.open_pool(autocommit=True)`): the one statement is the transaction."""

    def __init__(self, pool: Pool, stream: str, max_price: Decimal) -> None:
        self.pool = pool
        self.stream = stream
        self.max_price = max_price

    async def change(
        self,
        method: str,
        request: Any,
        sku: str,
        author: history.Author,
        explain: Callable[[Row], object],
        price: tuple[Decimal, list[str]] | None = None,
        quantity: int | None = None,
        delta: int | None = None,
        percent: Decimal | None = None,
        price_delta: tuple[Decimal, list[str]] | None = None,
    ) -> pb.MutationResult:
        """Change one variant's price (set to `price`, or adjusted by `percent` or `price_delta`)
        or its on-hand count (`quantity` or `delta`).

        `explain(row)` raises the general path's refusal for a row the SQL refused."""
        mutation: Mutation = request.mutation
        merchant_id = require_merchant(mutation.merchant_id)
        key = mutation.idempotency_key
        expected = expected_version(mutation)
        event = outbox.new_event(merchant_id)  # the envelope; the SQL appends the change
        adjusting = percent is not None or price_delta is not None
        currencies: list[str] | None = None  # where the price (or the delta) is valid
        if percent is not None:
            currencies = list(MINOR_UNITS)  # a percent is valid in any currency
        elif amount := price_delta or price:
            currencies = amount[1]
        params = {
            "confirmed_by": guardrails.confirmed_by(mutation),
            "bulk_size": mutation.bulk_size,
            "m": merchant_id,
            "key": key,
            "method": method,
            "hash": idempotency.request_hash(method, request),
            "sku": sku,
            "expected": expected,
            "price": price[0] if price else None,
            "percent": percent,
            "price_delta": price_delta[0] if price_delta else None,
            "currencies": currencies,
            "digits": [MINOR_UNITS[c] for c in currencies] if currencies is not None else None,
            "ceiling": self.max_price,
            "quantity": quantity,
            "delta": delta,
            "max_quantity": MAX_QUANTITY,
            "change_id": uuid.uuid4(),
            "user": author.user_id,
            "command": author.command_id,
            "event_head": event.SerializeToString(),
            "event_id": event.event_id,
            "stream": self.stream,
        }
        try:
            async with self.pool.connection() as conn:
                cur = await conn.execute(ADJUST if adjusting else CHANGE, params, prepare=True)
                rows = await cur.fetchall()
        except pg_errors.CheckViolation as exc:  # the schema's guard, as in Mutations.run
            raise broken_rule(exc) from exc
        except pg_errors.UniqueViolation as exc:
            if exc.diag.constraint_name != KEY_TAKEN:
                raise
            raise idempotency.IdempotencyKeyReused(
                f"idempotency key {key!r} was just used by a concurrent request with other arguments; use a new key"
            ) from exc
        first = rows[0]
        outcome = first["outcome"]
        if outcome == "replay" and first["response"] is not None:  # the first call took the general path
            result = pb.MutationResult.FromString(first["response"])
        elif outcome in ("ok", "replay"):
            result = self._result(merchant_id, sku, rows, price_change=price is not None or adjusting)
            result.record.CopyFrom(self._record(mutation, result, rows, price_change=price is not None or adjusting))
        else:
            self._refuse(outcome, first, key, sku, expected, explain)
        result.replayed = outcome == "replay"
        return result

    @staticmethod
    def _refuse(
        outcome: str, row: Row, key: str, sku: str, expected: int | None, explain: Callable[[Row], object]
    ) -> NoReturn:
        """Raise what the general path raises for this outcome."""
        if outcome == "reused":
            raise idempotency.IdempotencyKeyReused(
                f"idempotency key {key!r} was already used for a different request ({row['detail']}); use a new key"
            )
        if outcome == "not_found":
            raise store.no_such_sku(sku)
        if outcome == "guarded":  # a rule asks, nobody confirmed: nothing was written
            raise guardrails.refusal(row["detail"], bytes(row["response"]).decode())
        if outcome == "stale":
            store.check_version(int(row["detail"]), expected, f"SKU {sku}")
        elif outcome == "refused":
            explain(dict(row))
        raise Fallback(outcome)

    @staticmethod
    def _record(mutation: Mutation, result: pb.MutationResult, rows: list[Row], price_change: bool) -> ChangeRecord:
        """The change's audit record (a replay's rows do not say which rule asked: the changes row does)."""
        after = next(r for r in rows if r["sku"] == result.sku)
        if price_change:
            currency = after["currency_code"]
            before, now = format_amount(after["old_price"], currency), format_amount(after["price"], currency)
        else:
            before, now = str(after["old_on_hand"]), str(after["on_hand"])
        field = "price" if price_change else "stock"
        return guardrails.record(mutation, result.change_id, result.sku, field, before, now, after["detail"] or "")

    @staticmethod
    def _result(merchant_id: str, sku: str, rows: list[Row], price_change: bool) -> pb.MutationResult:
        """The reply, from the rows the change returned (first time or replayed: the same rows, the same reply)."""
        after = next(r for r in rows if r["sku"] == sku)
        if price_change:
            summary = summaries.price_change(sku, after["old_price"], after["price"], after["currency_code"])
        else:
            summary = summaries.stock_change(sku, after["old_on_hand"], after["on_hand"], after["committed"])
        return pb.MutationResult(
            product=to_product(merchant_id, rows), sku=sku, change_id=str(after["change_id"]), summary=summary
        )
