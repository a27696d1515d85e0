"""Prices and stock: set and adjust, rounding, history, idempotent replay, compare-and-swap, bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from tests.catalog.shop import amount, create, money, mutation, refused

Stub = catalog_pb2_grpc.CatalogServiceStub
SQL = Callable[..., list[tuple[Any, ...]]]


def test_set_price_records_who_when_which_command_and_the_previous_price(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, price="59.00")
    m = mutation(merchant, user="alice")
    result = stub.SetPrice(pb.SetPriceRequest(mutation=m, sku="A100", price=money("99.00")))
    assert amount(result.product.variants[0].price) == "99.00" and result.product.variants[0].version == 2
    assert "59.00 → 99.00" in result.summary
    [row] = sql(
        "SELECT kind, old_value, new_value, user_id, command_id, method, created_at IS NOT NULL, change_id::text"
        " FROM changes WHERE merchant_id = %s",
        merchant,
    )
    assert row == ("price", "59.00", "99.00", "alice", m.actor.command_id, "SetPrice", True, result.change_id)


@pytest.mark.parametrize(
    ("start", "percent", "expected"),
    [
        ("100.00", "-20", "80.00"),  # 打八折
        ("10.05", "-50", "5.02"),  # 5.025 → 5.02: half-even, not half-up
        ("10.07", "-50", "5.04"),  # 5.035 → 5.04
        ("19.99", "-15", "16.99"),  # 16.9915
        ("80.00", "12.5", "90.00"),
        ("5.00", "-100", "0.00"),
    ],
)
def test_adjust_price_by_percent_rounds_half_even(
    stub: Stub, merchant: str, start: str, percent: str, expected: str
) -> None:
    create(stub, merchant, price=start)
    result = stub.AdjustPrice(pb.AdjustPriceRequest(mutation=mutation(merchant), sku="A100", percent=percent))
    assert amount(result.product.variants[0].price) == expected


def test_adjust_price_by_delta_and_refusals(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, price="59.00")
    down = stub.AdjustPrice(pb.AdjustPriceRequest(mutation=mutation(merchant), sku="A100", delta=money("-10.00")))
    assert amount(down.product.variants[0].price) == "49.00"
    cases = [
        ({"delta": money("-49.01")}, "negative"),
        ({"delta": money("0.001")}, "decimals"),
        ({"percent": "-101"}, "negative"),
        ({"percent": "lots"}, "not a number"),
        ({"percent": "+5000"}, "check the number"),
        ({"delta": money("999999")}, "ceiling"),
        ({}, "percent"),
    ]
    for fields, message in cases:
        err = refused(
            lambda f=fields: stub.AdjustPrice(pb.AdjustPriceRequest(mutation=mutation(merchant), sku="A100", **f))
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and message in (err.details() or ""), (fields, err)
    assert sql("SELECT price::text FROM variants WHERE merchant_id = %s", merchant) == [("49.0000",)]
    assert sql("SELECT count(*) FROM changes WHERE merchant_id = %s", merchant) == [(1,)]


BAD_PRICES = [
    (money("-1"), "negative"),
    (money("1000000.01"), "ceiling"),
    (money("9.999"), "decimals"),
    (Money(currency_code="XYZ", units=5), "unknown currency"),
    (Money(currency_code="USD", units=5), "prices in CNY"),
    (Money(units=1, nanos=-5), "same sign"),
]


@pytest.mark.parametrize(("price", "message"), BAD_PRICES)
def test_bad_prices_are_invalid_argument_and_write_nothing(
    stub: Stub, merchant: str, sql: SQL, price: Money, message: str
) -> None:
    create(stub, merchant, price="59.00")
    err = refused(lambda: stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant, "k"), sku="A100", price=price)))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and message in (err.details() or ""), err.details()
    assert sql("SELECT price::text, version FROM variants WHERE merchant_id = %s", merchant) == [("59.0000", 1)]
    assert sql("SELECT count(*) FROM changes WHERE merchant_id = %s", merchant) == [(0,)]
    assert sql("SELECT count(*) FROM idempotency_keys WHERE merchant_id = %s AND key = 'k'", merchant) == [(0,)]


def test_unknown_sku_is_not_found_on_every_variant_rpc(stub: Stub, merchant: str) -> None:
    create(stub, merchant)
    calls: list[Callable[[], Any]] = [
        lambda: stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant), sku="ZZZ", price=money("1"))),
        lambda: stub.AdjustPrice(pb.AdjustPriceRequest(mutation=mutation(merchant), sku="ZZZ", percent="-5")),
        lambda: stub.SetStock(pb.SetStockRequest(mutation=mutation(merchant), sku="ZZZ", quantity=1)),
        lambda: stub.AdjustStock(pb.AdjustStockRequest(mutation=mutation(merchant), sku="ZZZ", delta=1)),
        lambda: stub.GetStock(pb.GetStockRequest(merchant_id=merchant, sku="ZZZ")),
    ]
    for call in calls:
        err = refused(call)
        assert err.code() == grpc.StatusCode.NOT_FOUND and "ZZZ" in (err.details() or "")


def test_set_and_adjust_stock_keep_available_equal_to_on_hand_minus_committed(stub: Stub, merchant: str) -> None:
    create(stub, merchant, quantity=10)
    stub.Reserve(
        pb.ReserveRequest(
            mutation=mutation(merchant), order_id="o1", lines=[pb.ReservationLine(sku="A100", quantity=4)]
        )
    )
    stock = stub.SetStock(pb.SetStockRequest(mutation=mutation(merchant), sku="A100", quantity=50)).product.variants[0]
    assert (stock.inventory.on_hand, stock.inventory.committed, stock.inventory.available) == (50, 4, 46)
    stock = stub.AdjustStock(pb.AdjustStockRequest(mutation=mutation(merchant), sku="A100", delta=20)).product.variants[
        0
    ]
    assert (stock.inventory.on_hand, stock.inventory.available) == (70, 66)
    stock = stub.AdjustStock(
        pb.AdjustStockRequest(mutation=mutation(merchant), sku="A100", delta=-66)
    ).product.variants[0]
    assert (stock.inventory.on_hand, stock.inventory.available) == (4, 0)
    got = stub.GetStock(pb.GetStockRequest(merchant_id=merchant, sku="A100"))
    assert got.inventory == stock.inventory and got.version == stock.version


def test_stock_below_zero_or_below_what_orders_hold_is_refused(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, quantity=10)
    stub.Reserve(
        pb.ReserveRequest(
            mutation=mutation(merchant), order_id="o1", lines=[pb.ReservationLine(sku="A100", quantity=4)]
        )
    )
    cases: list[tuple[Callable[[], Any], grpc.StatusCode, str]] = [
        (
            lambda: stub.SetStock(pb.SetStockRequest(mutation=mutation(merchant), sku="A100", quantity=-1)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "negative",
        ),
        (
            lambda: stub.AdjustStock(pb.AdjustStockRequest(mutation=mutation(merchant), sku="A100", delta=-11)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "negative",
        ),
        (
            lambda: stub.AdjustStock(pb.AdjustStockRequest(mutation=mutation(merchant), sku="A100", delta=0)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "delta is 0",
        ),
        (
            lambda: stub.SetStock(pb.SetStockRequest(mutation=mutation(merchant), sku="A100", quantity=10**12)),
            grpc.StatusCode.INVALID_ARGUMENT,
            "check the number",
        ),
        (
            lambda: stub.SetStock(pb.SetStockRequest(mutation=mutation(merchant), sku="A100", quantity=3)),
            grpc.StatusCode.FAILED_PRECONDITION,
            "reserved for orders",
        ),
        (
            lambda: stub.AdjustStock(pb.AdjustStockRequest(mutation=mutation(merchant), sku="A100", delta=-7)),
            grpc.StatusCode.FAILED_PRECONDITION,
            "reserved for orders",
        ),
    ]
    for call, code, message in cases:
        err = refused(call)
        assert err.code() == code and message in (err.details() or ""), err.details()
    assert sql("SELECT on_hand, committed FROM variants WHERE merchant_id = %s", merchant) == [(10, 4)]
    assert sql("SELECT count(*) FROM changes WHERE merchant_id = %s", merchant) == [(0,)]


def test_a_replay_returns_the_first_result_and_changes_nothing_more(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, quantity=10)
    request = pb.AdjustStockRequest(mutation=mutation(merchant, "utt-42"), sku="A100", delta=5)
    first = stub.AdjustStock(request)
    again = stub.AdjustStock(request)
    assert not first.replayed and again.replayed
    again.replayed = False
    assert again == first
    assert sql("SELECT on_hand FROM variants WHERE merchant_id = %s", merchant) == [(15,)]
    assert sql("SELECT count(*) FROM changes WHERE merchant_id = %s", merchant) == [(1,)]
    assert sql("SELECT count(*) FROM outbox WHERE merchant_id = %s", merchant) == [(2,)]  # created + stock


def test_a_key_reused_with_other_arguments_is_refused(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, price="59.00")
    stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant, "k1"), sku="A100", price=money("99")))
    err = refused(
        lambda: stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant, "k1"), sku="A100", price=money("98")))
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "already used" in (err.details() or "")
    err = refused(
        lambda: stub.AdjustStock(pb.AdjustStockRequest(mutation=mutation(merchant, "k1"), sku="A100", delta=1))
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert sql("SELECT price::text, on_hand FROM variants WHERE merchant_id = %s", merchant) == [("99.0000", 100)]


def test_a_missing_idempotency_key_is_invalid_argument(stub: Stub, merchant: str) -> None:
    create(stub, merchant)
    m = mutation(merchant)
    m.idempotency_key = ""
    err = refused(lambda: stub.SetPrice(pb.SetPriceRequest(mutation=m, sku="A100", price=money("1"))))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "idempotency_key" in (err.details() or "")


def test_compare_and_swap_refuses_a_stale_version_and_changes_nothing(stub: Stub, merchant: str, sql: SQL) -> None:
    created = create(stub, merchant, price="59.00", quantity=10)
    read_version = created.product.variants[0].version
    ok = stub.SetPrice(
        pb.SetPriceRequest(mutation=mutation(merchant, expected=read_version), sku="A100", price=money("60"))
    )
    assert ok.product.variants[0].version == read_version + 1
    for call in (
        lambda: stub.SetPrice(
            pb.SetPriceRequest(mutation=mutation(merchant, expected=read_version), sku="A100", price=money("61"))
        ),
        lambda: stub.AdjustStock(
            pb.AdjustStockRequest(mutation=mutation(merchant, expected=read_version), sku="A100", delta=1)
        ),
        lambda: stub.SetStock(
            pb.SetStockRequest(mutation=mutation(merchant, expected=read_version), sku="A100", quantity=1)
        ),
        lambda: stub.AdjustPrice(
            pb.AdjustPriceRequest(mutation=mutation(merchant, expected=read_version), sku="A100", percent="5")
        ),
    ):
        err = refused(call)
        assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "changed since you read it" in (
            err.details() or ""
        )
    assert sql("SELECT price::text, on_hand, version FROM variants WHERE merchant_id = %s", merchant) == [
        ("60.0000", 10, 2)
    ]
    status = refused(
        lambda: stub.SetProductStatus(
            pb.SetProductStatusRequest(mutation=mutation(merchant, expected=7), sku="A100", status=2)
        )
    )
    assert status.code() == grpc.StatusCode.FAILED_PRECONDITION
