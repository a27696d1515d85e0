"""A bulk change through the gateway, the NLU and the worker (issue 26's "done when"):
所有T恤打八折 → a proposal with the count and examples → 确认 → the worker changes every
T-shirt's price exactly once, streaming progress and a summary to the session → 撤销 undoes the
whole job as one step."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import grpc
import pytest

from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli import demo_shop
from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.stack import Stack
from tests.e2e.test_text_command import changes_of, owner_token, price_of
from tests.worker import workers
from tests.worker.workers import CeleryWorker


@pytest.fixture(scope="module")
def worker(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryWorker]:
    started = workers.for_stack(
        stack, Path(tmp_path_factory.mktemp("worker")), EXPORT_DIR=str(tmp_path_factory.mktemp("exports"))
    )
    yield started
    started.stop()


def add_white_tshirt(stack: Stack) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['catalog']}") as channel:
        catalog_pb2_grpc.CatalogServiceStub(channel).CreateProduct(
            catalog_pb2.CreateProductRequest(
                mutation=Mutation(merchant_id=demo_shop.MERCHANT_ID, idempotency_key="e2e-bulk-A101"),
                title="白色T恤",
                title_en="White T-shirt",
                sku="A101",
                price=Money(units=79),
                quantity=80,
            ),
            timeout=10,
        )


def test_all_tshirts_20_percent_off_through_the_worker_and_undone_as_one_step(
    stack: Stack, worker: CeleryWorker
) -> None:
    add_white_tshirt(stack)
    before = {sku: (price_of(stack, sku), changes_of(stack, sku)) for sku in ("A100", "A101", "B200")}

    after: dict[str, tuple[Decimal, int]] = {}

    async def run() -> tuple[Turn, Turn, Turn, Turn, Turn]:
        async with Conversation(stack.gateway, owner_token(), timeout_s=60) as conversation:
            proposed = await conversation.say("所有T恤打八折")
            confirmed = await conversation.say("确认")
            job = await conversation._collect(Turn("job", f"bulk-{proposed.utterance_id}"), None)
            after.update({sku: (price_of(stack, sku), changes_of(stack, sku)) for sku in ("A100", "A101", "B200")})
            asked = await conversation.say("撤销")  # a bulk undo is proposed first
            assert asked.final is not None and asked.final.WhichOneof("kind") == "confirmation", asked.messages
            undo = await conversation.say("确认")
            # the job is named after the command confirmed (its proposal's id), as the bulk change is
            undone = await conversation._collect(Turn("undo", f"undo-{asked.utterance_id}"), None)
            return proposed, confirmed, job, undo, undone

    proposed, confirmed, job, undo, undone = asyncio.run(run())
    assert proposed.final is not None and proposed.final.WhichOneof("kind") == "confirmation", proposed.messages
    assert "共2个商品" in proposed.final.confirmation.prompt and "A100 红色T恤" in proposed.final.confirmation.prompt
    assert confirmed.result is not None and confirmed.result.status == gw.RESULT_STATUS_OK, confirmed.messages
    kinds = [m.WhichOneof("kind") for m in job.messages]
    assert "progress" in kinds and kinds[-1] == "result", worker.log()[-3000:]
    assert job.messages[-1].result.message.startswith("批量改价完成：共2个SKU，已改2个"), job.messages[-1]
    for sku in ("A100", "A101"):
        old_price, old_changes = before[sku]
        assert after[sku][0] == (old_price * Decimal("0.8")).quantize(Decimal("0.01"))
        assert after[sku][1] == old_changes + 1  # exactly once
    assert after["B200"] == before["B200"]  # the jeans are no T-shirt

    assert undo.result is not None and undo.result.status == gw.RESULT_STATUS_OK, undo.messages
    assert undone.messages[-1].result.status == gw.RESULT_STATUS_OK, undone.messages
    for sku in ("A100", "A101"):
        assert price_of(stack, sku) == before[sku][0]


def test_export_of_the_product_list_is_a_file_named_in_the_reply(stack: Stack, worker: CeleryWorker) -> None:
    async def run() -> tuple[Turn, Turn]:
        async with Conversation(stack.gateway, owner_token(), timeout_s=60) as conversation:
            asked = await conversation.say("export the product list")
            ready = await conversation._collect(Turn("export", f"export-{asked.utterance_id}"), None)
            return asked, ready

    asked, ready = asyncio.run(run())
    assert asked.result is not None and asked.result.status == gw.RESULT_STATUS_OK, asked.messages
    message = ready.messages[-1].result.message
    assert message.startswith("Export ready: "), worker.log()[-3000:]
    rows = Path(message.removeprefix("Export ready: ")).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("sku,title,title_en,status,price")
    assert any(row.startswith("A100,红色T恤,") for row in rows)
