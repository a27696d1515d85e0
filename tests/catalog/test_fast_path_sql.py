"""The one-statement fast path (migrations 0004 and 0005) writes what Python would have
written: events equal byte for byte to CatalogEvents', history formatted as format_amount,
prices adjusted and rounded as pricing.adjusted_price, nothing at all for a refusal, and a
concurrent reuse of a key refused as a reuse."""

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
from shopvoice.money import format_amount, quantize, to_decimal
from tests.catalog.shop import amount, create, money, mutation, refused

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


@pytest.mark.parametrize(
    ("amount_", "digits"),
    [("5.025", 2), ("5.035", 2), ("-5.025", 2), ("-5.035", 2), ("2.5", 0), ("3.5", 0), ("59", 2), ("16.9915", 2)],
)
def test_sql_rounds_half_even_as_python_does(sql: SQL, amount_: str, digits: int) -> None:
    currency = "JPY" if digits == 0 else "CNY"
    [(rounded,)] = sql("SELECT round_half_even(%s::numeric, %s)", amount_, digits)
    assert rounded == quantize(Decimal(amount_), currency)


@pytest.mark.parametrize(
    ("start", "change", "currency"),
    [
        ("59.90", {"percent": "-15"}, "CNY"),  # 50.915 → 50.92
        ("10.05", {"percent": "-50"}, "CNY"),  # 5.025 → 5.02, half-even
        ("1500", {"percent": "12.5"}, "JPY"),  # 1687.5 → 1688
        ("59.00", {"delta": "-10.50"}, "CNY"),
        ("0.01", {"delta": "-0.01"}, "USD"),  # to 0: units and nanos left out of the wire format
    ],
)
def test_an_adjusted_price_takes_one_statement_and_writes_what_python_would(
    stub: Stub, merchant: str, sql: SQL, start: str, change: dict[str, str], currency: str
) -> None:
    stub.CreateProduct(
        pb.CreateProductRequest(
            mutation=mutation(merchant), title="t", sku="A100", price=money(start, currency), quantity=1
        )
    )
    m = mutation(merchant)
    fields: dict[str, Any] = {"percent": change["percent"]} if "percent" in change else {}
    if "delta" in change:
        fields["delta"] = money(change["delta"])
    request = pb.AdjustPriceRequest(mutation=m, sku="A100", **fields)
    result = stub.AdjustPrice(request)
    if "percent" in change:
        new = quantize(Decimal(start) * (1 + Decimal(change["percent"]) / 100), currency)
    else:
        new = Decimal(start) + Decimal(change["delta"])
    assert to_decimal(result.product.variants[0].price) == new
    # The fast path keeps the rows to replay; the general path would keep the serialised reply.
    assert sql(
        "SELECT method, replay_rows IS NOT NULL, response IS NULL FROM idempotency_keys"
        " WHERE merchant_id = %s AND key = %s",
        merchant,
        m.idempotency_key,
    ) == [("AdjustPrice", True, True)]
    payload, stored = last_event(sql, merchant)
    expected = CatalogEvents.price_changed_event(merchant, "A100", Decimal(start), new, currency, result.change_id)
    assert payload == with_envelope(expected, stored)
    [(old_value, new_value)] = sql("SELECT old_value, new_value FROM changes WHERE merchant_id = %s", merchant)
    assert (old_value, new_value) == (format_amount(Decimal(start), currency), format_amount(new, currency))
    again = stub.AdjustPrice(request)  # a retry replays, and changes nothing again
    assert again.replayed and again.product == result.product
    assert sql("SELECT count(*) FROM changes WHERE merchant_id = %s", merchant) == [(1,)]


def test_a_percent_with_more_decimals_takes_the_general_path_and_rounds_alike(
    stub: Stub, merchant: str, sql: SQL
) -> None:
    create(stub, merchant, price="59.90")
    m = mutation(merchant)
    result = stub.AdjustPrice(pb.AdjustPriceRequest(mutation=m, sku="A100", percent="-15.00001"))
    assert amount(result.product.variants[0].price) == "50.91"  # 50.9149940... → 50.91
    assert sql(
        "SELECT replay_rows IS NULL, response IS NOT NULL FROM idempotency_keys WHERE merchant_id = %s AND key = %s",
        merchant,
        m.idempotency_key,
    ) == [(True, True)]


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
