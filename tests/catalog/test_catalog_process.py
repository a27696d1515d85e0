"""The catalog as a real process: set a price, replay it, refuse bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import psycopg
import pytest

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Confirmation, Mutation
from tests.support.processes import ServiceProcess


@pytest.fixture
def catalog(database_url: str, redis_url: str, stream_prefix: str, tmp_path: Path) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        "catalog", {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "STREAM_PREFIX": stream_prefix}, tmp_path
    ).start()
    yield proc
    assert proc.stop() == 0, proc.log()


def mutation(key: str) -> Mutation:
    """Confirmed: a 59 → 99 price change needs it (test_guardrails.py)."""
    return Mutation(merchant_id="m1", idempotency_key=key, confirmation=Confirmation(user_id="owner-1"))


def test_set_price_is_committed_and_replays_once(catalog: ServiceProcess, database_url: str) -> None:
    with grpc.insecure_channel(catalog.address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        stub.CreateProduct(
            pb.CreateProductRequest(mutation=mutation("c1"), title="红色T恤", sku="A100", price=Money(units=59))
        )
        first = stub.SetPrice(pb.SetPriceRequest(mutation=mutation("u1"), sku="A100", price=Money(units=99)), timeout=5)
        again = stub.SetPrice(pb.SetPriceRequest(mutation=mutation("u1"), sku="A100", price=Money(units=99)), timeout=5)
    assert first.product.variants[0].price.units == 99
    assert not first.replayed and again.replayed
    assert again.change_id == first.change_id
    with psycopg.connect(database_url) as conn:
        price = conn.execute("SELECT price FROM catalog.variants WHERE merchant_id = 'm1' AND sku = 'A100'").fetchone()
        history = conn.execute("SELECT count(*) FROM catalog.changes WHERE sku = 'A100'").fetchone()
    assert price is not None and str(price[0]) == "99.0000"
    assert history == (1,)


def test_bad_price_is_invalid_argument_and_writes_nothing(catalog: ServiceProcess, database_url: str) -> None:
    with grpc.insecure_channel(catalog.address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        stub.CreateProduct(
            pb.CreateProductRequest(mutation=mutation("c1"), title="T", sku="A100", price=Money(units=5))
        )
        with pytest.raises(grpc.RpcError) as err:
            stub.SetPrice(pb.SetPriceRequest(mutation=mutation("u2"), sku="A100", price=Money(units=1, nanos=1)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "decimals" in (err.value.details() or "")
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM catalog.changes").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM catalog.idempotency_keys WHERE key = 'u2'").fetchone() == (0,)
