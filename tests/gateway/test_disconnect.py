"""A client that disconnects right after sending leaves nothing half-done: each command is
applied exactly once or not at all, no transcript entry stays pending, the session's
slot and reply stream go away, and what did run is audited as not delivered."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import grpc
import redis

from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.gateway.v1 import gateway_pb2_grpc
from tests.gateway.conftest import GatewayStack, eventually, token

# How long the client waits after sending before it vanishes: 0 = the same instant.
DELAYS_S = (0, 0, 0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)


async def send_and_vanish(target: str, tok: str, text: str, utterance_id: str, delay_s: float) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        queue: asyncio.Queue[gw.ClientMessage | None] = asyncio.Queue()

        async def requests():  # type: ignore[no-untyped-def]
            while (message := await queue.get()) is not None:
                yield message

        await queue.put(gw.ClientMessage(start=gw.SessionStart()))
        call = gateway_pb2_grpc.AssistantStub(channel).Converse(
            requests(), metadata=(("authorization", f"Bearer {tok}"),)
        )
        started = await call.read()
        assert started.WhichOneof("kind") == "started"
        await queue.put(gw.ClientMessage(text=gw.TextInput(text=text, utterance_id=utterance_id)))
        if delay_s:
            await asyncio.sleep(delay_s)
        call.cancel()


def test_disconnect_right_after_sending(gw_stack: GatewayStack, redis_url: str) -> None:
    merchant = gw_stack.merchant()
    # Prices within the NLU's confirmation threshold of D42's 159, so each command runs at once.
    sent = {uuid.uuid4().hex: (f"set the price of D42 to {150 + i}", delay) for i, delay in enumerate(DELAYS_S)}

    async def run() -> None:
        for utterance_id, (text, delay) in sent.items():
            await send_and_vanish(gw_stack.stack.gateway, token(merchant), text, utterance_id, delay)

    asyncio.run(run())

    client = redis.Redis.from_url(redis_url)
    try:
        transcripts = f"{gw_stack.prefix}:transcripts"
        eventually(lambda: client.xpending(transcripts, "nlu")["pending"] == 0, what="no pending transcript entries")
        eventually(
            lambda: not list(client.scan_iter(f"{gw_stack.prefix}:results:*")), what="every reply stream removed"
        )
        eventually(
            lambda: client.zcard(f"{gw_stack.prefix}:sessions:{{{merchant}}}") == 0, what="every session slot released"
        )
    finally:
        client.close()

    def audited() -> dict[str, tuple[str, bool]]:
        rows = gw_stack.query(
            "SELECT utterance_id, status, delivered FROM gateway.audit_log WHERE merchant_id = %s", merchant
        )
        return {r[0]: (r[1], r[2]) for r in rows}

    applied = dict(
        gw_stack.query(
            "SELECT command_id, count(*) FROM catalog.changes WHERE merchant_id = %s GROUP BY command_id", merchant
        )
    )
    assert set(applied) <= set(sent)
    assert all(count == 1 for count in applied.values()), f"a command applied twice: {applied}"
    eventually(lambda: set(audited()) == set(applied), what="an audit row for each applied command")
    assert all(status == "RESULT_STATUS_OK" for status, _ in audited().values())
    # The price is one an applied command set (commands of different sessions may be
    # applied in any order: the NLU handles several at once; the fault suite checks the
    # history chain itself).
    assert applied, "at least the later disconnects happen after the gateway accepted the command"
    applied_prices = {Decimal(sent[uid][0].rsplit(" ", 1)[1]) for uid in applied}
    assert gw_stack.price(merchant, "D42") in applied_prices
