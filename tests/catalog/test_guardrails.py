"""The merchant's guardrails in the catalog: cumulative price moves within a rolling window
and bulk operations need a named person's confirmation, whichever path the change takes.

Time is controlled by backdating the history rows in the real Postgres (the window is
measured from `changes.created_at`), never by mocking the service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.mutation_pb2 import Actor, Confirmation, Mutation
from tests.catalog.shop import amount, create, money, refused

Stub = catalog_pb2_grpc.CatalogServiceStub
SQL = Callable[..., list[tuple[Any, ...]]]


def change(
    merchant: str,
    *,
    user: str = "alice",
    role: str = "staff",
    confirmed_by: str = "",
    command_id: str = "",
    bulk_size: int = 0,
) -> Mutation:
    m = Mutation(
        merchant_id=merchant,
        idempotency_key=uuid.uuid4().hex,
        actor=Actor(user_id=user, role=role, command_id=command_id or f"utt-{uuid.uuid4().hex[:8]}"),
        bulk_size=bulk_size,
    )
    if confirmed_by:
        m.confirmation.CopyFrom(Confirmation(user_id=confirmed_by, role="owner", command_id="utt-yes"))
    return m


def cut(stub: Stub, merchant: str, percent: str = "-15", sku: str = "A100", **kw: Any) -> pb.MutationResult:
    result: pb.MutationResult = stub.AdjustPrice(
        pb.AdjustPriceRequest(mutation=change(merchant, **kw), sku=sku, percent=percent), timeout=5
    )
    return result


def set_price(stub: Stub, merchant: str, price: str, sku: str = "A100", **kw: Any) -> pb.MutationResult:
    result: pb.MutationResult = stub.SetPrice(
        pb.SetPriceRequest(mutation=change(merchant, **kw), sku=sku, price=money(price)), timeout=5
    )
    return result


def history(sql: SQL, merchant: str) -> list[tuple[Any, ...]]:
    return sql(
        "SELECT sku, old_value, new_value, user_id, confirmed_by, rule FROM changes"
        " WHERE merchant_id = %s AND kind = 'price' ORDER BY seq",
        merchant,
    )


def backdate(sql: SQL, merchant: str, hours: int) -> None:
    sql(
        "UPDATE changes SET created_at = created_at - make_interval(hours => %s) WHERE merchant_id = %s RETURNING 1",
        hours,
        merchant,
    )


# Both paths: the one-statement fast path (a percent with at most 4 decimals) and the
# general path (more decimals), which must apply the same rule.
PATHS = {"fast": "-15", "general": "-15.000001"}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_two_15_percent_cuts_within_an_hour_the_second_asks(stub: Stub, merchant: str, sql: SQL, path: str) -> None:
    create(stub, merchant, price="100.00")
    first = cut(stub, merchant, PATHS[path])
    assert amount(first.product.variants[0].price) == "85.00"
    assert (first.record.requested_by, first.record.confirmed_by, first.record.rule) == ("alice", "", "")

    err = refused(lambda: cut(stub, merchant, PATHS[path]))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (err.details() or "").startswith("needs confirmation (price_window): A100 would be 27.8% below 100.00")
    assert sql("SELECT price::text FROM variants WHERE merchant_id = %s", merchant) == [("85.0000",)]
    assert len(history(sql, merchant)) == 1  # the refusal wrote nothing

    confirmed = cut(stub, merchant, PATHS[path], confirmed_by="olivia")
    assert amount(confirmed.product.variants[0].price) == "72.25"
    assert (confirmed.record.requested_by, confirmed.record.confirmed_by, confirmed.record.rule) == (
        "alice",
        "olivia",
        "price_window",
    )
    assert (confirmed.record.before, confirmed.record.after) == ("85.00", "72.25")
    assert history(sql, merchant) == [
        ("A100", "100.00", "85.00", "alice", "", ""),
        ("A100", "85.00", "72.25", "alice", "olivia", "price_window"),
    ]


@pytest.mark.parametrize("path", sorted(PATHS))
def test_after_24_hours_the_second_cut_does_not_ask(stub: Stub, merchant: str, sql: SQL, path: str) -> None:
    create(stub, merchant, price="100.00")
    cut(stub, merchant, PATHS[path])
    backdate(sql, merchant, 25)
    second = cut(stub, merchant, PATHS[path], user="bob")
    assert amount(second.product.variants[0].price) == "72.25"
    assert history(sql, merchant)[-1] == ("A100", "85.00", "72.25", "bob", "", "")


def test_23_hours_later_it_still_asks(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, price="100.00")
    cut(stub, merchant)
    backdate(sql, merchant, 23)
    assert refused(lambda: cut(stub, merchant)).code() == grpc.StatusCode.FAILED_PRECONDITION


def test_rises_are_measured_from_the_lowest_price_in_the_window(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, price="100.00")
    set_price(stub, merchant, "90.00")  # -10%
    set_price(stub, merchant, "105.00")  # +16.7% from 90
    err = refused(lambda: set_price(stub, merchant, "110.00"))  # +22.2% from 90
    assert "22.2% above 90.00, its lowest price in the last 24 h (limit 20%)" in (err.details() or "")
    assert [row[2] for row in history(sql, merchant)] == ["90.00", "105.00"]


def test_a_confirmed_price_restarts_the_window(stub: Stub, merchant: str) -> None:
    create(stub, merchant, price="100.00")
    cut(stub, merchant, "-30", confirmed_by="olivia")
    assert amount(cut(stub, merchant, "-5").product.variants[0].price) == "66.50"  # 5% from the confirmed 70


def test_stock_changes_and_small_moves_never_ask(stub: Stub, merchant: str) -> None:
    create(stub, merchant, price="100.00")
    for _ in range(5):
        cut(stub, merchant, "-3")
    stub.SetStock(pb.SetStockRequest(mutation=change(merchant), sku="A100", quantity=7), timeout=5)


def test_an_undo_that_moves_the_price_past_the_window_asks(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, price="100.00")
    cut(stub, merchant, "-40", confirmed_by="olivia")  # 60.00, the window restarts here
    err = refused(
        lambda: stub.UndoLastChange(pb.UndoLastChangeRequest(mutation=change(merchant, user="alice")), timeout=5)
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "price_window" in (err.details() or "")
    undone = stub.UndoLastChange(
        pb.UndoLastChangeRequest(mutation=change(merchant, user="alice", confirmed_by="olivia")), timeout=5
    )
    assert amount(undone.product.variants[0].price) == "100.00" and undone.record.rule == "price_window"


# -- bulk -----------------------------------------------------------------------------------


def test_a_declared_bulk_over_the_threshold_is_refused_with_nothing_changed(
    stub: Stub, merchant: str, sql: SQL
) -> None:
    create(stub, merchant, price="100.00")
    err = refused(lambda: cut(stub, merchant, "-5", command_id="bulk:job-1", bulk_size=51))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "needs confirmation (bulk): the change covers 51 products (limit 50" in (err.details() or "")
    assert history(sql, merchant) == []
    done = cut(stub, merchant, "-5", command_id="bulk:job-1", bulk_size=51, confirmed_by="olivia")
    assert done.record.rule == "bulk" and done.record.confirmed_by == "olivia"
    assert history(sql, merchant) == [("A100", "100.00", "95.00", "alice", "olivia", "bulk")]


def test_an_undeclared_bulk_is_counted_by_its_command(stub: Stub, merchant: str, sql: SQL) -> None:
    """A caller that leaves bulk_size out is still stopped: the catalog counts the products one command changed."""
    owner = change(merchant, user="olivia", role="owner")
    stub.SetGuardrailPolicy(pb.SetGuardrailPolicyRequest(mutation=owner, bulk_threshold=3), timeout=5)
    for i in range(4):
        create(stub, merchant, sku=f"B{i}", title=f"袜子{i}", price="10.00")
    for i in range(3):
        cut(stub, merchant, "-5", sku=f"B{i}", command_id="job-x")
    err = refused(lambda: cut(stub, merchant, "-5", sku="B3", command_id="job-x"))
    assert "the change covers 4 products (limit 3" in (err.details() or "")
    assert sql("SELECT price::text FROM variants WHERE merchant_id = %s AND sku = 'B3'", merchant) == [("10.0000",)]
    # the same product again in the same command is not a new product
    cut(stub, merchant, "-1", sku="B0", command_id="job-x")


def test_a_bulk_price_cut_counts_towards_the_window_of_each_product(stub: Stub, merchant: str) -> None:
    create(stub, merchant, price="100.00")
    cut(stub, merchant, "-15", command_id="bulk:job-2", bulk_size=2)
    assert refused(lambda: cut(stub, merchant, "-10")).code() == grpc.StatusCode.FAILED_PRECONDITION


# -- the policy -----------------------------------------------------------------------------


def test_the_defaults_and_who_may_change_them(stub: Stub, merchant: str) -> None:
    policy = stub.GetGuardrailPolicy(pb.GetGuardrailPolicyRequest(merchant_id=merchant), timeout=5)
    assert (policy.price_change_percent, policy.price_window_hours, policy.bulk_threshold, policy.is_default) == (
        "20",
        24,
        50,
        True,
    )
    for role in ("viewer", "staff"):
        err = refused(
            lambda role=role: stub.SetGuardrailPolicy(
                pb.SetGuardrailPolicyRequest(mutation=change(merchant, role=role), price_change_percent="15"),
                timeout=5,
            )
        )
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, role
    owner = change(merchant, user="olivia", role="owner")
    changed = stub.SetGuardrailPolicy(pb.SetGuardrailPolicyRequest(mutation=owner, price_change_percent="15"))
    assert (changed.price_change_percent, changed.bulk_threshold, changed.updated_by, changed.is_default) == (
        "15",
        50,
        "olivia",
        False,
    )
    bad = refused(
        lambda: stub.SetGuardrailPolicy(
            pb.SetGuardrailPolicyRequest(mutation=change(merchant, role="owner"), price_change_percent="0")
        )
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_a_tighter_policy_asks_sooner(stub: Stub, merchant: str) -> None:
    owner = change(merchant, user="olivia", role="owner")
    stub.SetGuardrailPolicy(pb.SetGuardrailPolicyRequest(mutation=owner, price_change_percent="10"), timeout=5)
    create(stub, merchant, price="100.00")
    err = refused(lambda: cut(stub, merchant, "-12"))
    assert "(limit 10%)" in (err.details() or "")


def test_policies_are_per_shop(stub: Stub, merchant: str) -> None:
    other = f"m-{uuid.uuid4().hex[:10]}"
    owner = change(other, user="olivia", role="owner")
    stub.SetGuardrailPolicy(pb.SetGuardrailPolicyRequest(mutation=owner, price_change_percent="5"), timeout=5)
    create(stub, merchant, price="100.00")
    cut(stub, merchant, "-15")  # this shop keeps the default 20%
