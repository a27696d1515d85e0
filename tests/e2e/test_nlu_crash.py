"""SIGKILL the NLU after it read an utterance and before it acked: nothing is lost,
the command is applied exactly once by the NLU that takes over."""

from __future__ import annotations

import asyncio
import signal
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import redis

from shopvoice_cli import demo_shop
from shopvoice_cli.client import Conversation
from shopvoice_cli.stack import Process, wait_serving
from tests.e2e.conftest import make_stack
from tests.e2e.test_text_command import owner_token


def pending_count(client: redis.Redis, stream: str, consumer: str) -> int:
    summary = client.xpending_range(stream, "nlu", min="-", max="+", count=10, consumername=consumer)
    return len(summary)


def test_killed_nlu_loses_nothing_and_applies_once(
    pg_admin_url: str, redis_url: str, database_url: str, tmp_path: Path
) -> None:
    # A long outgoing deadline keeps the first NLU blocked in its call while we kill it.
    stack = make_stack(database_url, redis_url, tmp_path, RPC_TIMEOUT_S="60", STREAM_CLAIM_IDLE_MS="500")
    stack.start()
    try:
        demo_shop.seed_catalog(f"127.0.0.1:{stack.ports['catalog']}")
        catalog, nlu = stack.processes["catalog"], stack.processes["nlu"]
        stream = f"{stack.extra_env['STREAM_PREFIX']}:transcripts"
        client = redis.Redis.from_url(redis_url)

        assert catalog.popen is not None
        catalog.popen.send_signal(signal.SIGSTOP)  # the catalog hangs: the NLU reads and waits
        try:

            async def send() -> str:
                conversation = Conversation(stack.gateway, owner_token(), timeout_s=60)
                await conversation.__aenter__()
                # 159 → 135: within the guardrail's 20% (test_guardrails.py), so it runs without a question
                turn_task = asyncio.create_task(conversation.say("set the price of D42 to 135"))
                deadline = time.monotonic() + 10
                while pending_count(client, stream, "nlu-1") == 0:
                    assert time.monotonic() < deadline, "the NLU never read the utterance"
                    await asyncio.sleep(0.05)
                assert nlu.popen is not None
                nlu.popen.send_signal(signal.SIGKILL)
                nlu.popen.wait(10)
                assert pending_count(client, stream, "nlu-1") == 1, "read but not acknowledged"
                catalog.popen.send_signal(signal.SIGCONT)  # type: ignore[union-attr]
                # Another NLU (another consumer name) takes over the stuck entry.
                successor = Process(
                    "nlu", stack.ports["nlu"], {**stack.env(), "NLU_CONSUMER_NAME": "nlu-2"}, tmp_path / "nlu-2.log"
                )
                successor.start()
                stack.processes["nlu-2"] = successor
                assert wait_serving(successor.address, 30)
                turn = await turn_task
                await conversation.__aexit__(None, None, None)
                assert turn.result is not None, turn.messages
                return turn.result.message

            message = asyncio.run(send())
        finally:
            if catalog.popen.poll() is None:
                catalog.popen.send_signal(signal.SIGCONT)

        assert "135.00" in message
        with psycopg.connect(database_url) as conn:
            price = conn.execute("SELECT price FROM catalog.variants WHERE sku = 'D42'").fetchone()
            changes = conn.execute("SELECT count(*) FROM catalog.changes WHERE sku = 'D42'").fetchone()
        assert price is not None and Decimal(price[0]) == Decimal("135")
        assert changes == (1,), "applied exactly once"
        assert pending_count(client, stream, "nlu-1") + pending_count(client, stream, "nlu-2") == 0
        client.close()
    finally:
        stack.stop()
