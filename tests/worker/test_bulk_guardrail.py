"""A bulk price change over the merchant's bulk threshold: without a confirmation the catalog
refuses every product (nothing changes, the summary says why); confirmed, every product
changes and its history names who asked, who confirmed and the rule."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import psycopg

from services.worker.client import BulkPriceChange, WorkerClient
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.mutation_pb2 import Actor, Mutation
from tests.support.processes import ServiceProcess
from tests.worker import shop
from tests.worker.workers import CeleryWorker

SOCKS = 5
THRESHOLD = 3


def set_threshold(catalog: ServiceProcess, merchant: str) -> None:
    with grpc.insecure_channel(catalog.address) as channel:
        catalog_pb2_grpc.CatalogServiceStub(channel).SetGuardrailPolicy(
            catalog_pb2.SetGuardrailPolicyRequest(
                mutation=Mutation(
                    merchant_id=merchant, idempotency_key=f"policy-{merchant}", actor=Actor(user_id="u1", role="owner")
                ),
                bulk_threshold=THRESHOLD,
            ),
            timeout=5,
        )


def finished(client: WorkerClient, job_id: str, timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.job_status(job_id)
        if status.get("summary"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish: {client.job_status(job_id)}")


def history(database_url: str, merchant: str) -> list[tuple[str, str, str, str]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT sku, user_id, confirmed_by, rule FROM catalog.changes WHERE merchant_id = %s AND kind = 'price'"
            " ORDER BY sku",
            (merchant,),
        ).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_bulk_change_over_the_threshold_needs_a_confirmation(
    catalog: ServiceProcess,
    catalog_database: str,
    client: WorkerClient,
    start_worker: Callable[..., CeleryWorker],
    merchant: str,
) -> None:
    shop.create_skus(catalog.address, merchant, "羊毛袜", "SOCK", SOCKS)
    set_threshold(catalog, merchant)
    start_worker("w1")
    change = {"merchant_id": merchant, "selector": "袜", "percent": "-10", "user_id": "u2", "role": "staff"}

    refused = finished(client, client.submit_bulk_price_change(BulkPriceChange(**change)))  # type: ignore[arg-type]
    summary = refused["summary"]
    assert isinstance(summary, dict) and summary["changed"] == 0 and summary["failed"] == SOCKS, summary
    assert "needs confirmation (bulk)" in str(summary["reasons"]), summary
    assert history(catalog_database, merchant) == []

    done = finished(
        client,
        client.submit_bulk_price_change(BulkPriceChange(**change, confirmed_by="u1")),  # type: ignore[arg-type]
    )
    assert isinstance(done["summary"], dict) and done["summary"]["changed"] == SOCKS, done
    assert history(catalog_database, merchant) == [(f"SOCK{i:05d}", "u2", "u1", "bulk") for i in range(SOCKS)]
