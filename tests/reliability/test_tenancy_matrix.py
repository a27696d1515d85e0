"""Tenant isolation matrix: for every catalog and orders RPC that takes an id,
merchant B asking with merchant A's id gets exactly what a missing id gets (same
status, same message with the id in it), and nothing changes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from google.protobuf.message import Message

from shopvoice.catalog.v1 import catalog_pb2 as cat
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Actor, Mutation
from shopvoice.orders.v1 import orders_pb2 as ords
from shopvoice.orders.v1 import orders_pb2_grpc
from shopvoice_cli import demo_shop
from shopvoice_cli.stack import Stack
from tests.reliability.test_bad_input import row_counts

pytestmark = pytest.mark.e2e

A = demo_shop.MERCHANT_ID
B = "tenant-b"
ONLY_A_SKU = "ONLYA1"


@dataclass(frozen=True)
class Row:
    rpc: str
    request: Callable[[str, str], Message]  # (merchant_id, id) -> request
    a_id: str
    missing_id: str


def key() -> str:
    return f"tenancy-{uuid.uuid4().hex}"


def catalog_mutation(merchant_id: str) -> Mutation:
    return Mutation(merchant_id=merchant_id, idempotency_key=key(), actor=Actor(user_id="owner-1"))


def orders_mutation(merchant_id: str) -> Mutation:
    return Mutation(merchant_id=merchant_id, idempotency_key=key(), actor=Actor(user_id="owner-1"))


def outcome(call: Callable[..., object], request: Message) -> tuple[str, str]:
    try:
        call(request, timeout=10)
    except grpc.RpcError as exc:
        return exc.code().name, exc.details() or ""  # type: ignore[attr-defined]
    return "OK", ""


def test_merchant_b_with_merchant_a_ids_sees_what_a_missing_id_gets(stack: Stack) -> None:
    catalog_address = f"127.0.0.1:{stack.ports['catalog']}"
    demo_shop.seed_catalog(catalog_address, B)  # B has a shop of its own, with the same demo SKUs
    order_id = demo_shop.place_order(f"127.0.0.1:{stack.ports['orders']}")
    with grpc.insecure_channel(catalog_address) as channel:
        catalog = catalog_pb2_grpc.CatalogServiceStub(channel)
        created = catalog.CreateProduct(
            cat.CreateProductRequest(
                mutation=catalog_mutation(A), title="A only", sku=ONLY_A_SKU, price=Money(units=10), quantity=5
            )
        )
        product_id = created.product.product_id
        change = catalog.SetPrice(
            cat.SetPriceRequest(mutation=catalog_mutation(A), sku=ONLY_A_SKU, price=Money(units=11))
        )
    change_id, missing_uuid = change.change_id, str(uuid.uuid4())
    money = Money(units=1)

    catalog_rows = [
        Row("GetProduct", lambda m, i: cat.GetProductRequest(merchant_id=m, sku=i), ONLY_A_SKU, "NOSUCH1"),
        Row("GetProduct", lambda m, i: cat.GetProductRequest(merchant_id=m, product_id=i), product_id, missing_uuid),
        Row("GetStock", lambda m, i: cat.GetStockRequest(merchant_id=m, sku=i), ONLY_A_SKU, "NOSUCH1"),
        Row("SetPrice", lambda m, i: cat.SetPriceRequest(mutation=catalog_mutation(m), sku=i, price=money),
            ONLY_A_SKU, "NOSUCH1"),
        Row("AdjustPrice", lambda m, i: cat.AdjustPriceRequest(mutation=catalog_mutation(m), sku=i, percent="-10"),
            ONLY_A_SKU, "NOSUCH1"),
        Row("SetStock", lambda m, i: cat.SetStockRequest(mutation=catalog_mutation(m), sku=i, quantity=1),
            ONLY_A_SKU, "NOSUCH1"),
        Row("AdjustStock", lambda m, i: cat.AdjustStockRequest(mutation=catalog_mutation(m), sku=i, delta=1),
            ONLY_A_SKU, "NOSUCH1"),
        Row("SetProductStatus",
            lambda m, i: cat.SetProductStatusRequest(mutation=catalog_mutation(m), sku=i, status=2),  # type: ignore[arg-type]
            ONLY_A_SKU, "NOSUCH1"),
        Row("UndoLastChange", lambda m, i: cat.UndoLastChangeRequest(mutation=catalog_mutation(m), change_id=i),
            change_id, missing_uuid),
        Row("Release", lambda m, i: cat.ReleaseRequest(mutation=catalog_mutation(m), order_id=i), order_id, "999999"),
        Row("CommitReservation", lambda m, i: cat.CommitReservationRequest(mutation=catalog_mutation(m), order_id=i),
            order_id, "999999"),
    ]  # fmt: skip
    orders_rows = [
        Row("GetOrder", lambda m, i: ords.GetOrderRequest(merchant_id=m, order_id=i), order_id, "999999"),
        Row("ConfirmOrder", lambda m, i: ords.ConfirmOrderRequest(mutation=orders_mutation(m), order_id=i),
            order_id, "999999"),
        Row("ShipOrder", lambda m, i: ords.ShipOrderRequest(mutation=orders_mutation(m), order_id=i, carrier="SF"),
            order_id, "999999"),
        Row("CancelOrder", lambda m, i: ords.CancelOrderRequest(mutation=orders_mutation(m), order_id=i),
            order_id, "999999"),
        Row("RefundOrder", lambda m, i: ords.RefundOrderRequest(mutation=orders_mutation(m), order_id=i),
            order_id, "999999"),
        Row("MarkDelivered", lambda m, i: ords.MarkDeliveredRequest(mutation=orders_mutation(m), order_id=i),
            order_id, "999999"),
        Row("RateOrder", lambda m, i: ords.RateOrderRequest(mutation=orders_mutation(m), order_id=i, rating=5),
            order_id, "999999"),
    ]  # fmt: skip

    before = row_counts(stack.database_url)
    leaks: list[str] = []
    for address, stub_class, rows in (
        (catalog_address, catalog_pb2_grpc.CatalogServiceStub, catalog_rows),
        (f"127.0.0.1:{stack.ports['orders']}", orders_pb2_grpc.OrdersServiceStub, orders_rows),
    ):
        with grpc.insecure_channel(address) as channel:
            stub = stub_class(channel)
            for row in rows:
                call = getattr(stub, row.rpc)
                foreign = outcome(call, row.request(B, row.a_id))
                missing = outcome(call, row.request(B, row.missing_id))
                as_missing = (foreign[0], foreign[1].replace(row.a_id, "<id>"))
                expected = (missing[0], missing[1].replace(row.missing_id, "<id>"))
                if foreign[0] == "OK" or as_missing != expected:
                    leaks.append(f"{row.rpc}: A's id gives {foreign}, a missing id gives {missing}")
    after = row_counts(stack.database_url)
    print(f"\ntenancy matrix: {len(catalog_rows) + len(orders_rows)} RPCs with ids checked")
    assert not leaks, "\n".join(leaks)
    assert after == before, "merchant B's requests changed something"
