"""Undo: reverts the caller's last change exactly, and only while nothing else touched the SKU."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.command_pb2 import ProductStatus
from tests.catalog.shop import amount, create, money, mutation, refused

Stub = catalog_pb2_grpc.CatalogServiceStub
SQL = Callable[..., list[tuple[Any, ...]]]


def undo(stub: Stub, merchant: str, user: str = "staff-1", change_id: str = "") -> pb.MutationResult:
    result: pb.MutationResult = stub.UndoLastChange(
        pb.UndoLastChangeRequest(mutation=mutation(merchant, user=user), change_id=change_id)
    )
    return result


def test_undo_puts_back_the_previous_price_exactly(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, price="59.90")
    changed = stub.AdjustPrice(pb.AdjustPriceRequest(mutation=mutation(merchant), sku="A100", percent="-15"))
    assert amount(changed.product.variants[0].price) == "50.92"
    undone = undo(stub, merchant)
    assert amount(undone.product.variants[0].price) == "59.90" and undone.summary.startswith("undone")
    rows = sql(
        "SELECT method, old_value, new_value, undone_by::text FROM changes WHERE merchant_id = %s ORDER BY seq",
        merchant,
    )
    assert rows == [("AdjustPrice", "59.90", "50.92", undone.change_id), ("UndoLastChange", "50.92", "59.90", None)]


def test_undo_puts_back_stock_and_status(stub: Stub, merchant: str) -> None:
    """...and says what it changed as a record (field, before, after): the NLU words its reply from it."""
    create(stub, merchant, quantity=10)
    stub.AdjustStock(pb.AdjustStockRequest(mutation=mutation(merchant), sku="A100", delta=20))
    stock = undo(stub, merchant)
    assert stock.product.variants[0].inventory.on_hand == 10
    assert (stock.record.field, stock.record.before, stock.record.after) == ("stock", "30", "10")
    archived = stub.SetProductStatus(
        pb.SetProductStatusRequest(
            mutation=mutation(merchant), sku="A100", status=ProductStatus.PRODUCT_STATUS_ARCHIVED
        )
    )
    assert (archived.record.field, archived.record.before, archived.record.after) == ("status", "active", "archived")
    status = undo(stub, merchant)
    assert status.product.status == ProductStatus.PRODUCT_STATUS_ACTIVE
    assert (status.record.field, status.record.before, status.record.after) == ("status", "archived", "active")


def test_undo_is_refused_when_someone_changed_the_sku_since(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, price="59.00")
    stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant, user="alice"), sku="A100", price=money("49")))
    stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant, user="bob"), sku="A100", price=money("45")))
    err = refused(lambda: undo(stub, merchant, user="alice"))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "price was changed by bob" in (err.details() or ""), err.details()
    assert sql("SELECT price::text FROM variants WHERE merchant_id = %s", merchant) == [("45.0000",)]
    assert amount(undo(stub, merchant, user="bob").product.variants[0].price) == "49.00"  # bob's own change: fine


def test_undo_is_refused_when_an_order_moved_the_stock_since(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, quantity=10)
    stub.SetStock(pb.SetStockRequest(mutation=mutation(merchant), sku="A100", quantity=30))
    stub.Reserve(
        pb.ReserveRequest(
            mutation=mutation(merchant), order_id="o1", lines=[pb.ReservationLine(sku="A100", quantity=2)]
        )
    )
    err = refused(lambda: undo(stub, merchant))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "an order reserved" in (err.details() or "")
    assert sql("SELECT on_hand, committed FROM variants WHERE merchant_id = %s", merchant) == [(30, 2)]


def test_undo_twice_and_with_nothing_to_undo(stub: Stub, merchant: str) -> None:
    create(stub, merchant)
    err = refused(lambda: undo(stub, merchant))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "no change of yours" in (err.details() or "")
    stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant), sku="A100", price=money("1")))
    undo(stub, merchant)
    err = refused(lambda: undo(stub, merchant))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "already undone" in (err.details() or "")


def test_undo_a_named_change(stub: Stub, merchant: str) -> None:
    create(stub, merchant, sku="A100", price="10.00")
    create(stub, merchant, sku="B200", price="20.00")
    first = stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant), sku="A100", price=money("11")))
    stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant), sku="B200", price=money("21")))
    assert amount(undo(stub, merchant, change_id=first.change_id).product.variants[0].price) == "10.00"
    assert amount(stub.GetStock(pb.GetStockRequest(merchant_id=merchant, sku="B200")).price) == "21.00"
    err = refused(lambda: undo(stub, merchant, change_id="nonsense"))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
