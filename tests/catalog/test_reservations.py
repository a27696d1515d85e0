"""Reservations by RPC: all lines or none, release, commit on shipping, never oversold."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import grpc

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from tests.catalog.shop import create, mutation, refused
from tests.support.processes import ServiceProcess

Stub = catalog_pb2_grpc.CatalogServiceStub
SQL = Callable[..., list[tuple[Any, ...]]]


def lines(**quantities: int) -> list[pb.ReservationLine]:
    return [pb.ReservationLine(sku=sku, quantity=q) for sku, q in quantities.items()]


def stock(stub: Stub, merchant: str, sku: str) -> tuple[int, int, int]:
    inv = stub.GetStock(pb.GetStockRequest(merchant_id=merchant, sku=sku)).inventory
    return inv.on_hand, inv.committed, inv.available


def test_an_order_is_reserved_whole_or_not_at_all(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, sku="A", quantity=5)
    create(stub, merchant, sku="B", quantity=1)
    refusal = stub.Reserve(pb.ReserveRequest(mutation=mutation(merchant), order_id="o1", lines=lines(A=2, B=2)))
    assert not refusal.accepted and "B: 1 available, 2 ordered" in refusal.reason
    assert stock(stub, merchant, "A") == (5, 0, 5) and stock(stub, merchant, "B") == (1, 0, 1)
    ok = stub.Reserve(pb.ReserveRequest(mutation=mutation(merchant), order_id="o2", lines=lines(A=2, B=1)))
    assert ok.accepted and {(line.sku, line.quantity) for line in ok.lines} == {("A", 2), ("B", 1)}
    assert stock(stub, merchant, "A") == (5, 2, 3) and stock(stub, merchant, "B") == (1, 1, 0)
    again = stub.Reserve(pb.ReserveRequest(mutation=mutation(merchant), order_id="o2", lines=lines(A=2, B=1)))
    assert again.accepted and stock(stub, merchant, "A") == (5, 2, 3)  # one order holds once
    decided = sql(
        "SELECT count(*) FROM outbox WHERE merchant_id = %s AND position('o2'::bytea in payload) > 0", merchant
    )
    assert decided == [(1,)]  # ReservationDecided for o2 once (StockChanged events carry no order id)


def test_release_commit_and_their_refusals(stub: Stub, merchant: str) -> None:
    create(stub, merchant, sku="A", quantity=10)
    stub.Reserve(pb.ReserveRequest(mutation=mutation(merchant), order_id="o1", lines=lines(A=4)))
    part = stub.Release(pb.ReleaseRequest(mutation=mutation(merchant), order_id="o1", lines=lines(A=1)))
    assert [(line.sku, line.quantity) for line in part.lines] == [("A", 1)] and stock(stub, merchant, "A") == (10, 3, 7)
    shipped = stub.CommitReservation(pb.CommitReservationRequest(mutation=mutation(merchant), order_id="o1"))
    assert shipped.accepted and stock(stub, merchant, "A") == (7, 0, 7)
    again = stub.CommitReservation(pb.CommitReservationRequest(mutation=mutation(merchant), order_id="o1"))
    assert again.accepted and again.reason == "already shipped" and stock(stub, merchant, "A") == (7, 0, 7)
    err = refused(lambda: stub.Release(pb.ReleaseRequest(mutation=mutation(merchant), order_id="o1")))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "committed" in (err.details() or "")
    stub.Reserve(pb.ReserveRequest(mutation=mutation(merchant), order_id="o2", lines=lines(A=7)))
    assert stock(stub, merchant, "A") == (7, 7, 0)
    stub.Release(pb.ReleaseRequest(mutation=mutation(merchant), order_id="o2"))
    assert stock(stub, merchant, "A") == (7, 0, 7)
    err = refused(
        lambda: stub.CommitReservation(pb.CommitReservationRequest(mutation=mutation(merchant), order_id="o2"))
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "released" in (err.details() or "")
    err = refused(lambda: stub.Release(pb.ReleaseRequest(mutation=mutation(merchant), order_id="nope")))
    assert err.code() == grpc.StatusCode.NOT_FOUND


def test_bad_reservation_requests_are_invalid_argument(stub: Stub, merchant: str) -> None:
    create(stub, merchant, sku="A", quantity=10)
    for order_id, bad in (("o1", lines(A=0)), ("o1", lines(A=-1)), ("o1", []), ("", lines(A=1))):
        err = refused(
            lambda o=order_id, b=bad: stub.Reserve(pb.ReserveRequest(mutation=mutation(merchant), order_id=o, lines=b))
        )
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert stock(stub, merchant, "A") == (10, 0, 10)


def test_200_concurrent_reservations_of_150_units_accept_exactly_150(
    catalog_process: ServiceProcess, stub: Stub, merchant: str, sql: SQL
) -> None:
    create(stub, merchant, sku="HOT", quantity=150)

    async def storm() -> list[pb.ReservationResult]:
        async with grpc.aio.insecure_channel(catalog_process.address) as channel:
            client = catalog_pb2_grpc.CatalogServiceStub(channel)
            calls = [
                client.Reserve(
                    pb.ReserveRequest(
                        mutation=mutation(merchant), order_id=f"o-{uuid.uuid4().hex[:8]}", lines=lines(HOT=1)
                    ),
                    timeout=30,
                )
                for _ in range(200)
            ]
            return list(await asyncio.gather(*calls))

    results = asyncio.run(storm())
    assert sum(r.accepted for r in results) == 150
    refusals = [r for r in results if not r.accepted]
    assert len(refusals) == 50 and all("HOT: 0 available, 1 ordered" in r.reason for r in refusals)
    assert stock(stub, merchant, "HOT") == (150, 150, 0)
    assert sql("SELECT count(*), sum(reserved) FROM reservation_lines WHERE merchant_id = %s", merchant) == [(150, 150)]
    assert sql("SELECT count(*) FROM reservations WHERE merchant_id = %s AND status = 'refused'", merchant) == [(50,)]
