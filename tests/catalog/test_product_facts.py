"""Product facts: set per name and language, read back, replaced, removed; bad input refused
with nothing written; a replay returns the first result; one shop never sees another's facts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.mutation_pb2 import Mutation
from tests.catalog.shop import create, mutation, refused

Stub = catalog_pb2_grpc.CatalogServiceStub


def set_fact(
    stub: Stub, merchant: str, sku: str, name: str, language: str, value: str, m: Mutation | None = None
) -> pb.ProductFacts:
    reply: pb.ProductFacts = stub.SetProductFact(
        pb.SetProductFactRequest(mutation=m or mutation(merchant), sku=sku, name=name, language=language, value=value),
        timeout=5,
    )
    return reply


def facts_of(stub: Stub, merchant: str, sku: str, language: str = "") -> dict[tuple[str, str], str]:
    reply = stub.GetProductFacts(pb.GetProductFactsRequest(merchant_id=merchant, sku=sku, language=language), timeout=5)
    return {(f.name, f.language): f.value for f in reply.facts}


def test_facts_are_set_per_name_and_language_and_read_back(stub: Stub, merchant: str) -> None:
    create(stub, merchant, sku="E15", title="保温杯")
    set_fact(stub, merchant, "E15", "capacity", "zh", "500毫升")
    reply = set_fact(stub, merchant, "E15", "capacity", "en", "500 ml")
    assert [(f.name, f.language, f.value) for f in reply.facts] == [
        ("capacity", "en", "500 ml"),
        ("capacity", "zh", "500毫升"),
    ]
    assert reply.sku == "E15" and reply.product_id
    assert facts_of(stub, merchant, "E15", "zh") == {("capacity", "zh"): "500毫升"}


def test_a_new_value_replaces_and_an_empty_one_removes(stub: Stub, merchant: str) -> None:
    create(stub, merchant, sku="D42", title="黑色双肩包")
    set_fact(stub, merchant, "D42", "capacity", "en", "20 litres")
    set_fact(stub, merchant, "D42", "capacity", "en", "25 litres")
    set_fact(stub, merchant, "D42", "material", "en", "polyester")
    assert facts_of(stub, merchant, "D42") == {("capacity", "en"): "25 litres", ("material", "en"): "polyester"}
    set_fact(stub, merchant, "D42", "material", "en", "")
    assert facts_of(stub, merchant, "D42") == {("capacity", "en"): "25 litres"}


def test_a_replay_returns_the_first_result(stub: Stub, merchant: str) -> None:
    create(stub, merchant, sku="K12", title="不锈钢水壶")
    key = mutation(merchant)
    first = set_fact(stub, merchant, "K12", "capacity", "en", "750 ml", key)
    again = set_fact(stub, merchant, "K12", "capacity", "en", "750 ml", key)
    assert again.replayed and not first.replayed
    err = refused(lambda: set_fact(stub, merchant, "K12", "capacity", "en", "1 litre", key))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert facts_of(stub, merchant, "K12") == {("capacity", "en"): "750 ml"}


def test_bad_input_is_refused_and_nothing_is_written(
    stub: Stub, merchant: str, sql: Callable[..., list[tuple[Any, ...]]]
) -> None:
    create(stub, merchant, sku="G3", title="瑜伽垫")
    cases = [
        ("G3", "colour of the moon", "en", "grey", grpc.StatusCode.INVALID_ARGUMENT, "not a fact name"),
        ("G3", "material", "fr", "TPE", grpc.StatusCode.INVALID_ARGUMENT, "language"),
        ("G3", "material", "en", "TPE\x00", grpc.StatusCode.INVALID_ARGUMENT, "NUL"),
        ("G3", "material", "en", "x" * 501, grpc.StatusCode.INVALID_ARGUMENT, "at most 500"),
        ("NOPE9", "material", "en", "TPE", grpc.StatusCode.NOT_FOUND, "NOPE9"),
        ("bad sku!", "material", "en", "TPE", grpc.StatusCode.INVALID_ARGUMENT, "not a SKU"),
    ]
    for sku, name, language, value, code, words in cases:
        err = refused(lambda: set_fact(stub, merchant, sku, name, language, value))  # noqa: B023
        assert err.code() == code, (name, err.details())
        assert words in (err.details() or ""), err.details()
        assert "\n" not in (err.details() or "")
    assert sql("SELECT count(*) FROM product_facts WHERE merchant_id = %s", merchant) == [(0,)]


def test_one_shop_never_sees_another_shops_facts(stub: Stub, merchant: str) -> None:
    create(stub, merchant, sku="M3", title="羊毛袜")
    set_fact(stub, merchant, "M3", "material", "zh", "70%美利奴羊毛")
    other = f"{merchant}-other"
    create(stub, other, sku="M3", title="羊毛袜")
    assert facts_of(stub, other, "M3") == {}
    err = refused(lambda: stub.GetProductFacts(pb.GetProductFactsRequest(merchant_id=other, sku="Z1"), timeout=5))
    assert err.code() == grpc.StatusCode.NOT_FOUND
