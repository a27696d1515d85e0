"""The one-statement fast path (migration 0004) writes what Python would have written:
events equal byte for byte to CatalogEvents', history formatted as format_amount, nothing
at all for a refusal, and a concurrent reuse of a key refused as a reuse."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import grpc
import psycopg
import pytest

from services.catalog.events import CatalogEvents
from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.events.v1.events_pb2 import Event
from shopvoice.money import format_amount
from tests.catalog.shop import create, money, mutation, refused

Stub = catalog_pb2_grpc.CatalogServiceStub
SQL = Callable[..., list[tuple[Any, ...]]]


def last_event(sql: SQL, merchant: str) -> tuple[bytes, Event]:
    [(payload,)] = sql("SELECT payload FROM outbox WHERE merchant_id = %s ORDER BY id DESC LIMIT 1", merchant)
    return bytes(payload), Event.FromString(payload)


def with_envelope(event: Event, envelope: Event) -> bytes:
    """`event` with the id, time and trace of `envelope` (those are random or the clock's)."""
    event.event_id = envelope.event_id
    event.occurred_at.CopyFrom(envelope.occurred_at)
    event.trace.CopyFrom(envelope.trace)
    return event.SerializeToString()


@pytest.mark.parametrize(
    ("start", "new", "currency"),
    [
        ("59.00", "99.00", "CNY"),
        ("0.01", "0", "CNY"),  # units 0 and nanos 0 are left out of the wire format
        ("999999.99", "1000000", "USD"),  # multi-byte varints
        ("1500", "1", "JPY"),  # no minor digits
    ],
)
def test_a_price_event_is_the_bytes_python_would_write(
    stub: Stub, merchant: str, sql: SQL, start: str, new: str, currency: str
) -> None:
    stub.CreateProduct(
        pb.CreateProductRequest(
            mutation=mutation(merchant), title="t", sku="A100", price=money(start, currency), quantity=1
        )
    )
    result = stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant), sku="A100", price=money(new)))
    payload, stored = last_event(sql, merchant)
    expected = CatalogEvents.price_changed_event(
        merchant, "A100", Decimal(start), Decimal(new), currency, result.change_id
    )
    assert payload == with_envelope(expected, stored)
    [(old_value, new_value)] = sql("SELECT old_value, new_value FROM changes WHERE merchant_id = %s", merchant)
    assert (old_value, new_value) == (format_amount(Decimal(start), currency), format_amount(Decimal(new), currency))


@pytest.mark.parametrize(("quantity", "delta"), [(10, -10), (10, 5), (1, 1_000_000)])
def test_a_stock_event_is_the_bytes_python_would_write(
    stub: Stub, merchant: str, sql: SQL, quantity: int, delta: int
) -> None:
    create(stub, merchant, quantity=quantity)
    result = stub.AdjustStock(pb.AdjustStockRequest(mutation=mutation(merchant), sku="A100", delta=delta))
    payload, stored = last_event(sql, merchant)
    on_hand = quantity + delta
    expected = CatalogEvents.stock_changed_event(merchant, "A100", on_hand, 0, result.change_id)
    assert payload == with_envelope(expected, stored)


@pytest.mark.parametrize(
    ("amount", "digits"),
    [("5.025", 2), ("5.035", 2), ("5.0250", 2), ("-5.025", 2), ("2.5", 0), ("3.5", 0), ("59", 2), ("0.0001", 2)],
)
def test_sql_formats_amounts_as_python_does(sql: SQL, amount: str, digits: int) -> None:
    currency = "JPY" if digits == 0 else "CNY"
    [(text,)] = sql("SELECT format_amount(%s::numeric, %s)", amount, digits)
    assert text == format_amount(Decimal(amount), currency)


def test_a_refused_change_writes_nothing_not_even_its_key(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, quantity=10)
    m = mutation(merchant)
    err = refused(lambda: stub.AdjustStock(pb.AdjustStockRequest(mutation=m, sku="A100", delta=-11)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sql(
        "SELECT count(*) FROM idempotency_keys WHERE merchant_id = %s AND key = %s", merchant, m.idempotency_key
    ) == [(0,)]
    assert sql("SELECT count(*) FROM changes WHERE merchant_id = %s", merchant) == [(0,)]
    assert sql("SELECT count(*) FROM outbox WHERE merchant_id = %s", merchant) == [(1,)]  # the product's creation


@pytest.fixture
def other_session(module_database: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(module_database) as conn:
        conn.execute("SET search_path = catalog")
        yield conn


def test_a_key_taken_meanwhile_by_another_request_is_refused_and_nothing_written(
    stub: Stub, merchant: str, sql: SQL, other_session: psycopg.Connection[Any]
) -> None:
    create(stub, merchant, price="59.00")
    m = mutation(merchant)
    # Another request holds the key, not yet committed: the call looks it up, does
    # not see it, changes the row, and then waits on the key's primary key.
    other_session.execute(
        "INSERT INTO idempotency_keys (merchant_id, key, method, request_hash) VALUES (%s, %s, 'AdjustStock', '\\x00')",
        (merchant, m.idempotency_key),
    )
    errors: list[grpc.RpcError] = []

    def call() -> None:
        try:
            stub.SetPrice(pb.SetPriceRequest(mutation=m, sku="A100", price=money("99.00")), timeout=10)
        except grpc.RpcError as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    caller.join(0.5)
    assert caller.is_alive(), "the call should wait for the other request's key"
    other_session.commit()
    caller.join(10)
    [err] = errors
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "concurrent request" in (err.details() or "")
    assert sql("SELECT price::text, version FROM variants WHERE merchant_id = %s", merchant) == [("59.0000", 1)]
    assert sql("SELECT count(*) FROM changes WHERE merchant_id = %s", merchant) == [(0,)]
