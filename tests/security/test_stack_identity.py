"""The whole stack with identity on every internal call (as `shopvoice up` runs it): a command
from the gateway reaches the catalog through the NLU with the speaker's identity, a bulk change
reaches it through the worker with the same identity, a viewer's cannot change a price even where
the NLU is bypassed, and a direct call without a token is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import grpc
import psycopg
import pytest

from shopvoice import identity
from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys
from shopvoice.catalog.v1 import catalog_pb2 as cat
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Actor, Mutation
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli import demo_shop
from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.stack import Stack
from tests.e2e.conftest import make_stack
from tests.e2e.test_text_command import price_of
from tests.support import servers
from tests.worker import workers
from tests.worker.workers import CeleryWorker

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def secured(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with servers.fresh_database(pg_admin_url) as database_url:
        stack = make_stack(database_url, redis_url, tmp_path_factory.mktemp("secured"))
        stack.internal_identity = True
        stack.services = [s for s in stack.services if s != "asr"]
        try:
            stack.start(after_catalog=demo_shop.seed_catalog)
            yield stack
        finally:
            stack.stop()
            identity.set_process_identity(None)


@pytest.fixture(scope="module")
def worker(secured: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryWorker]:
    """The Celery worker with its own key: its calls to the catalog are signed as the worker."""
    started = workers.for_stack(
        secured,
        Path(tmp_path_factory.mktemp("worker")),
        EXPORT_DIR=str(tmp_path_factory.mktemp("exports")),
        INTERNAL_KEYS=secured.internal_keys["worker"],
    )
    yield started
    started.stop()


def say(stack: Stack, text: str, role: str = "owner") -> Turn:
    async def run() -> Turn:
        token = mint(parse_keys(DEV_AUTH_KEYS), demo_shop.MERCHANT_ID, f"{role}-1", role)
        async with Conversation(stack.gateway, token) as conversation:
            return await conversation.say(text)

    return asyncio.run(run())


def test_a_spoken_change_reaches_the_catalog_with_the_speakers_identity(secured: Stack) -> None:
    turn = say(secured, "set the price of A100 to 77")
    assert turn.result is not None and turn.result.status == gw.RESULT_STATUS_OK, turn.messages
    assert price_of(secured, "A100") == Decimal("77.00")
    with psycopg.connect(secured.database_url) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM catalog.changes WHERE merchant_id = %s AND sku = 'A100'", (demo_shop.MERCHANT_ID,)
        ).fetchone()
    assert rows is not None and rows[0] >= 1


def test_a_direct_call_without_identity_is_refused(secured: Stack) -> None:
    before = price_of(secured, "B200")
    request = cat.SetPriceRequest(
        mutation=Mutation(merchant_id=demo_shop.MERCHANT_ID, idempotency_key="x", actor=Actor(role="owner")),
        sku="B200",
        price=Money(units=1, currency_code="CNY"),
    )
    with (
        grpc.insecure_channel(f"127.0.0.1:{secured.ports['catalog']}") as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        catalog_pb2_grpc.CatalogServiceStub(channel).SetPrice(request, timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
    assert price_of(secured, "B200") == before


def test_a_viewer_token_cannot_become_an_owner_body(secured: Stack) -> None:
    """The NLU's identity with a viewer's claims: the body says owner, the catalog believes the token."""
    nlu = identity.Identity(identity.parse_keys(secured.internal_keys["nlu"]))
    before = price_of(secured, "B200")
    request = cat.SetPriceRequest(
        mutation=Mutation(merchant_id=demo_shop.MERCHANT_ID, idempotency_key="y", actor=Actor(role="owner")),
        sku="B200",
        price=Money(units=1, currency_code="CNY"),
    )
    viewer = identity.Claims("nlu", demo_shop.MERCHANT_ID, "viewer-1", "viewer")
    address = f"127.0.0.1:{secured.ports['catalog']}"
    with (
        identity.acting_as(viewer),
        identity.sync_channel(address, nlu) as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        catalog_pb2_grpc.CatalogServiceStub(channel).SetPrice(request, timeout=5)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    assert price_of(secured, "B200") == before


def changes_by(stack: Stack, sku: str) -> list[tuple[str, str]]:
    """(user_id, command_id) of each change to the SKU, oldest first."""
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute(
            "SELECT user_id, command_id FROM catalog.changes WHERE merchant_id = %s AND sku = %s ORDER BY created_at",
            (demo_shop.MERCHANT_ID, sku),
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def test_a_bulk_change_runs_in_the_worker_under_the_speakers_identity(secured: Stack, worker: CeleryWorker) -> None:
    # From 89 to 77, then 20% off: 30.8% below the window's highest price, so the catalog's price
    # guardrail asks, and the merchant's "确认" of the proposal must reach it through the worker.
    set_first = say(secured, "set the price of A100 to 77")
    assert set_first.result is not None and set_first.result.status == gw.RESULT_STATUS_OK, set_first.messages
    before, earlier = price_of(secured, "A100"), len(changes_by(secured, "A100"))

    async def run() -> tuple[Turn, Turn, Turn]:
        token = mint(parse_keys(DEV_AUTH_KEYS), demo_shop.MERCHANT_ID, "owner-1", "owner")
        async with Conversation(secured.gateway, token, timeout_s=60) as conversation:
            proposed = await conversation.say("所有T恤打八折")
            confirmed = await conversation.say("确认")
            job = await conversation._collect(Turn("job", f"bulk-{proposed.utterance_id}"), None)
            return proposed, confirmed, job

    proposed, confirmed, job = asyncio.run(run())
    assert proposed.final is not None and proposed.final.WhichOneof("kind") == "confirmation", proposed.messages
    assert confirmed.result is not None and confirmed.result.status == gw.RESULT_STATUS_OK, confirmed.messages
    final = job.messages[-1] if job.messages else None
    assert final is not None and final.WhichOneof("kind") == "result", worker.log()[-3000:]
    assert final.result.status == gw.RESULT_STATUS_OK, (final.result.message, worker.log()[-3000:])
    assert price_of(secured, "A100") == (before * Decimal("0.8")).quantize(Decimal("0.01"))
    changes = changes_by(secured, "A100")
    assert len(changes) == earlier + 1  # exactly once
    assert changes[-1][0] == "owner-1"  # the speaker, carried by the worker's signed call
    with psycopg.connect(secured.database_url) as conn:
        row = conn.execute(
            "SELECT confirmed_by, rule FROM catalog.changes WHERE merchant_id = %s AND sku = 'A100'"
            " ORDER BY created_at DESC LIMIT 1",
            (demo_shop.MERCHANT_ID,),
        ).fetchone()
    assert row is not None and tuple(row) == ("owner-1", "price_window")
