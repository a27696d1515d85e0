"""The hot path of SetPrice, SetStock and AdjustStock: two statements per call.

The general path (`Mutations.run` with a `_change_variant` change) takes about
ten round trips and re-reads the product. Here one call of the SQL function
`change_variant` (migration 0003) locks the variant, claims the key, checks the
expected version and the row-dependent rules and updates the row, returning
the product's rows; one more statement writes the history row, the outbox event
and the stored response; then commit. Same transaction, same order of checks,
same errors, same messages:

- what can be refused without the row (a missing key, delta 0, a malformed
  Money, ...) is not tried here: `eligible_*` say no and the general path
  answers, so its order of checks (lock, claim, version, then rules) holds;
- a row-dependent refusal comes back as the row, and the general path's own
  check (`validate_price`, `inventory.new_on_hand`) explains it from that row;
- anything the two disagree on rolls back and goes to the general path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from psycopg import errors as pg_errors

from services.catalog import history, store
from services.catalog.events import CatalogEvents
from services.catalog.messages import Row, to_product
from services.catalog.mutations import expected_version
from services.catalog.validation import MAX_QUANTITY, require_merchant
from shopvoice import idempotency
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.db import Pool
from shopvoice.errors import AlreadyExists, FailedPrecondition
from shopvoice.events.v1.events_pb2 import Event
from shopvoice.money import MINOR_UNITS, MoneyError, format_amount, minor_digits, to_decimal

CHANGE = (
    "SELECT * FROM change_variant(%(m)s, %(key)s, %(method)s, %(hash)s, %(sku)s, %(expected)s::bigint,"
    " %(price)s::numeric, %(currencies)s::text[], %(ceiling)s::numeric, %(quantity)s::bigint, %(delta)s::bigint,"
    " %(max_quantity)s::bigint)"
)
FINISH = (
    "WITH h AS (INSERT INTO changes (change_id, merchant_id, sku, kind, old_value, new_value, user_id, command_id,"
    " method, version_after) VALUES (%(change_id)s, %(m)s, %(sku)s, %(kind)s, %(old)s, %(new)s, %(user)s,"
    " %(command)s, %(method)s, %(version)s)),"
    " o AS (INSERT INTO outbox (event_id, merchant_id, stream, payload)"
    " VALUES (%(event_id)s, %(m)s, %(stream)s, %(payload)s))"
    " UPDATE idempotency_keys SET response = %(response)s WHERE merchant_id = %(m)s AND key = %(key)s"
)


class Fallback(Exception):
    """The fast path cannot answer this call; the general path will."""


def key_ok(mutation: pb.Mutation) -> bool:
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


def stock_ok(quantity: int | None, delta: int | None) -> bool:
    if quantity is not None:
        return 0 <= quantity <= MAX_QUANTITY
    return delta is not None and delta != 0 and abs(delta) <= MAX_QUANTITY


class FastChanges:
    def __init__(self, pool: Pool, events: CatalogEvents, max_price: Decimal) -> None:
        self.pool = pool
        self.events = events
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
    ) -> pb.MutationResult:
        """Change one variant's price (`price`) or on-hand count (`quantity` or `delta`).

        `explain(row)` raises the general path's refusal for a row the SQL refused."""
        mutation: pb.Mutation = request.mutation
        merchant_id = require_merchant(mutation.merchant_id)
        key = mutation.idempotency_key
        expected = expected_version(mutation)
        params = {
            "m": merchant_id,
            "key": key,
            "method": method,
            "hash": idempotency.request_hash(method, request),
            "sku": sku,
            "expected": expected,
            "price": price[0] if price else None,
            "currencies": price[1] if price else None,
            "ceiling": self.max_price,
            "quantity": quantity,
            "delta": delta,
            "max_quantity": MAX_QUANTITY,
        }
        try:
            async with self.pool.connection() as conn, conn.transaction():
                cur = await conn.execute(CHANGE, params, prepare=True)
                rows = await cur.fetchall()
                first = rows[0]
                outcome = first["outcome"]
                if outcome == "replay":
                    replay = pb.MutationResult.FromString(first["response"])
                    replay.replayed = True
                    return replay
                if outcome != "ok":
                    self._refuse(outcome, first, key, sku, expected, explain)
                result, finish = self._finish(merchant_id, key, method, sku, author, rows, price)
                await conn.execute(FINISH, finish, prepare=True)
            return result
        except pg_errors.CheckViolation as exc:  # the schema's guard, as in Mutations.run
            rule = exc.diag.constraint_name
            raise FailedPrecondition(f"refused: the change would break a stock or price rule ({rule})") from exc
        except pg_errors.UniqueViolation as exc:  # pragma: no cover - no insert of a SKU here
            raise AlreadyExists("that SKU was just created by another call; choose another SKU") from exc

    @staticmethod
    def _refuse(
        outcome: str, row: Row, key: str, sku: str, expected: int | None, explain: Callable[[Row], object]
    ) -> None:
        """Raise what the general path raises for this outcome (the transaction then rolls back)."""
        if outcome == "reused":
            raise idempotency.IdempotencyKeyReused(
                f"idempotency key {key!r} was already used for a different request ({row['detail']}); use a new key"
            )
        if outcome == "not_found":
            raise store.no_such_sku(sku)
        if outcome == "stale":
            store.check_version(int(row["detail"]), expected, f"SKU {sku}")
        elif outcome == "refused":
            explain(dict(row))
        raise Fallback(outcome)

    def _finish(
        self,
        merchant_id: str,
        key: str,
        method: str,
        sku: str,
        author: history.Author,
        rows: list[Row],
        price: tuple[Decimal, list[str]] | None,
    ) -> tuple[pb.MutationResult, dict[str, Any]]:
        """The reply, and the parameters of FINISH (history, event, stored reply)."""
        after = rows[0]
        currency = after["currency_code"]
        change_id = str(uuid.uuid4())
        event: Event
        if price is not None:
            kind, old_value, new_value = "price", after["old_price"], price[0]
            old, new = format_amount(old_value, currency), format_amount(new_value, currency)
            event = CatalogEvents.price_changed_event(merchant_id, sku, old_value, new_value, currency, change_id)
            summary = f"{sku} price {old} → {new} {currency}"
        else:
            kind, on_hand, committed = "stock", after["on_hand"], after["committed"]
            old, new = str(after["old_on_hand"]), str(on_hand)
            event = CatalogEvents.stock_changed_event(merchant_id, sku, on_hand, committed, change_id)
            summary = f"{sku} stock {old} → {on_hand} on hand ({on_hand - committed} available)"
        result = pb.MutationResult(product=to_product(merchant_id, rows), sku=sku, change_id=change_id, summary=summary)
        finish = {
            "change_id": change_id,
            "m": merchant_id,
            "sku": sku,
            "kind": kind,
            "old": old,
            "new": new,
            "user": author.user_id,
            "command": author.command_id,
            "method": author.method,
            "version": after["version"],
            "event_id": event.event_id,
            "stream": self.events.stream,
            "payload": event.SerializeToString(),
            "response": result.SerializeToString(),
            "key": key,
        }
        return result, finish
