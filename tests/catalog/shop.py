"""What a test does as a shop's staff would: build mutations, create products, expect refusals."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import grpc
import pytest

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Actor, Confirmation, Mutation
from shopvoice.money import from_decimal, to_decimal


def mutation(
    merchant: str,
    key: str | None = None,
    *,
    user: str = "staff-1",
    expected: int | None = None,
    confirmed_by: str = "owner-1",
) -> Mutation:
    """A change as staff make it; confirmed (by default) so that the guardrails, tested on their
    own in test_guardrails.py, do not stand in the way of what other tests check."""
    m = Mutation(
        merchant_id=merchant,
        idempotency_key=key or uuid.uuid4().hex,
        actor=Actor(user_id=user, role="staff", command_id=f"utt-{uuid.uuid4().hex[:6]}"),
    )
    if confirmed_by:
        m.confirmation.CopyFrom(Confirmation(user_id=confirmed_by, role="owner"))
    if expected is not None:
        m.expected_version = expected
    return m


def money(amount: str, currency: str = "") -> Money:
    return from_decimal(Decimal(amount), currency)


def amount(m: Money) -> str:
    return f"{to_decimal(m):.2f}"


def create(
    stub: catalog_pb2_grpc.CatalogServiceStub,
    merchant: str,
    sku: str = "A100",
    title: str = "红色T恤",
    price: str = "59.00",
    quantity: int = 100,
) -> pb.MutationResult:
    result: pb.MutationResult = stub.CreateProduct(
        pb.CreateProductRequest(
            mutation=mutation(merchant), title=title, sku=sku, price=money(price), quantity=quantity
        ),
        timeout=5,
    )
    return result


def refused(call: Callable[[], Any]) -> grpc.RpcError:
    """The error a call fails with (and it must fail)."""
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value
