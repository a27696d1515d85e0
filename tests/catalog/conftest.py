"""A real catalog process per test module, over a database of the module's own;
tests are kept apart by merchant_id, which is what tenancy is for."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import psycopg
import pytest

from shopvoice.catalog.v1 import catalog_pb2_grpc
from tests.support import servers
from tests.support.processes import ServiceProcess


@pytest.fixture(scope="module")
def module_database(pg_admin_url: str) -> Iterator[str]:
    with servers.fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture(scope="module")
def module_streams(redis_url: str) -> Iterator[str]:
    with servers.stream_namespace(redis_url) as prefix:
        yield prefix


@pytest.fixture(scope="module")
def catalog_process(
    module_database: str, redis_url: str, module_streams: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    env = {"DATABASE_URL": module_database, "REDIS_URL": redis_url, "STREAM_PREFIX": module_streams}
    proc = ServiceProcess("catalog", env, tmp_path_factory.mktemp("catalog")).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(scope="module")
def stub(catalog_process: ServiceProcess) -> Iterator[catalog_pb2_grpc.CatalogServiceStub]:
    with grpc.insecure_channel(catalog_process.address) as channel:
        yield catalog_pb2_grpc.CatalogServiceStub(channel)


@pytest.fixture
def merchant() -> str:
    """A shop of this test's own."""
    return f"m-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def sql(module_database: str, catalog_process: ServiceProcess) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """Run a query against the catalog schema, as an auditor would (once the catalog has
    migrated it: a test that only queries must not run before the schema exists)."""
    with psycopg.connect(module_database, autocommit=True) as conn:
        conn.execute("SET search_path = catalog")

        def run(query: str, *params: Any) -> list[tuple[Any, ...]]:
            return conn.execute(query, params).fetchall()

        yield run
