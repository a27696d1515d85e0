"""Tenancy: another shop's SKUs, products, changes and orders read exactly like missing ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from tests.catalog.shop import create, money, mutation, refused

Stub = catalog_pb2_grpc.CatalogServiceStub
SQL = Callable[..., list[tuple[Any, ...]]]


def test_every_rpc_on_another_shops_sku_is_denied_like_a_missing_one(stub: Stub, merchant: str, sql: SQL) -> None:
    victim = merchant
    thief = f"{merchant}-other"
    created = create(stub, victim, sku="A100", price="59.00", quantity=10)
    change = stub.SetPrice(pb.SetPriceRequest(mutation=mutation(victim), sku="A100", price=money("60")))
    stub.Reserve(
        pb.ReserveRequest(mutation=mutation(victim), order_id="o1", lines=[pb.ReservationLine(sku="A100", quantity=1)])
    )
    create(stub, thief, sku="B1")  # the thief has a shop of its own

    attempts: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {}

    def attempt(name: str, make: Callable[[str, str], Any]) -> None:
        attempts[name] = (
            lambda: make("A100", created.product.product_id),
            lambda: make("ZZZ", "00000000-0000-0000-0000-000000000000"),
        )

    attempt("GetProduct sku", lambda sku, _: stub.GetProduct(pb.GetProductRequest(merchant_id=thief, sku=sku)))
    attempt("GetProduct id", lambda _, pid: stub.GetProduct(pb.GetProductRequest(merchant_id=thief, product_id=pid)))
    attempt("GetStock", lambda sku, _: stub.GetStock(pb.GetStockRequest(merchant_id=thief, sku=sku)))
    attempt(
        "SetPrice",
        lambda sku, _: stub.SetPrice(pb.SetPriceRequest(mutation=mutation(thief), sku=sku, price=money("1"))),
    )
    attempt(
        "AdjustPrice",
        lambda sku, _: stub.AdjustPrice(pb.AdjustPriceRequest(mutation=mutation(thief), sku=sku, percent="-50")),
    )
    attempt("SetStock", lambda sku, _: stub.SetStock(pb.SetStockRequest(mutation=mutation(thief), sku=sku, quantity=0)))
    attempt(
        "AdjustStock",
        lambda sku, _: stub.AdjustStock(pb.AdjustStockRequest(mutation=mutation(thief), sku=sku, delta=5)),
    )
    attempt(
        "SetProductStatus",
        lambda sku, _: stub.SetProductStatus(pb.SetProductStatusRequest(mutation=mutation(thief), sku=sku, status=3)),
    )
    for name, (theirs, missing) in attempts.items():
        a, b = refused(theirs), refused(missing)
        assert a.code() == b.code() == grpc.StatusCode.NOT_FOUND, name
        assert (a.details() or "").replace("A100", "ZZZ").replace(
            created.product.product_id, "00000000-0000-0000-0000-000000000000"
        ) == b.details(), name

    undo = refused(
        lambda: stub.UndoLastChange(pb.UndoLastChangeRequest(mutation=mutation(thief), change_id=change.change_id))
    )
    assert undo.code() == grpc.StatusCode.NOT_FOUND
    release = refused(lambda: stub.Release(pb.ReleaseRequest(mutation=mutation(thief), order_id="o1")))
    ship = refused(lambda: stub.CommitReservation(pb.CommitReservationRequest(mutation=mutation(thief), order_id="o1")))
    assert release.code() == ship.code() == grpc.StatusCode.NOT_FOUND
    grab = stub.Reserve(
        pb.ReserveRequest(mutation=mutation(thief), order_id="o9", lines=[pb.ReservationLine(sku="A100", quantity=1)])
    )
    assert not grab.accepted and "A100 is not in this shop" in grab.reason

    # Nothing of the victim leaks into the thief's lists, and nothing of the victim changed.
    assert [m.sku for m in stub.SearchProducts(pb.SearchProductsRequest(merchant_id=thief, query="A100")).matches] == []
    assert [e.sku for e in stub.GetVocabulary(pb.GetVocabularyRequest(merchant_id=thief)).entries] == ["B1"]
    listed = stub.ListProducts(pb.ListProductsRequest(merchant_id=thief)).products
    assert [p.variants[0].sku for p in listed] == ["B1"]
    assert sql("SELECT price::text, on_hand, committed, version FROM variants WHERE merchant_id = %s", victim) == [
        ("60.0000", 10, 1, 3)
    ]


def test_idempotency_keys_belong_to_one_shop(stub: Stub, merchant: str) -> None:
    other = f"{merchant}-other"
    create(stub, merchant, sku="A100", price="10")
    create(stub, other, sku="A100", price="10")
    mine = stub.SetPrice(pb.SetPriceRequest(mutation=mutation(merchant, "same-key"), sku="A100", price=money("11")))
    theirs = stub.SetPrice(pb.SetPriceRequest(mutation=mutation(other, "same-key"), sku="A100", price=money("11")))
    assert not mine.replayed and not theirs.replayed
    assert theirs.product.merchant_id == other and theirs.product.product_id != mine.product.product_id


def test_a_request_without_merchant_is_invalid_argument(stub: Stub) -> None:
    err = refused(lambda: stub.GetStock(pb.GetStockRequest(sku="A100")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "merchant_id" in (err.details() or "")
