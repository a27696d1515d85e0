"""Session limits: concurrent sessions per merchant across replicas (with crash-safe
expiry), idle timeout and maximum duration."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from services.gateway.status import retry_after_ms
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.gateway.v1 import gateway_pb2_grpc
from shopvoice_cli.client import Conversation
from tests.gateway.conftest import GatewayStack, token

CAPPED = {"MAX_SESSIONS_PER_MERCHANT": "2", "SESSION_LEASE_S": "1"}


@pytest.fixture(scope="module")
def capped(gw_stack: GatewayStack) -> tuple[str, str]:
    return gw_stack.gateway(**CAPPED).address, gw_stack.gateway(**CAPPED).address


async def refused(target: str, tok: str) -> grpc.aio.AioRpcError | None:
    try:
        async with Conversation(target, tok, timeout_s=5):
            return None
    except grpc.aio.AioRpcError as exc:
        return exc


def test_concurrent_sessions_are_capped_across_replicas(gw_stack: GatewayStack, capped: tuple[str, str]) -> None:
    merchant, other = "m-cap-1", "m-cap-2"

    async def run() -> None:
        first = await Conversation(capped[0], token(merchant)).__aenter__()
        second = await Conversation(capped[1], token(merchant)).__aenter__()
        refusal = await refused(capped[0], token(merchant))
        assert refusal is not None and refusal.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "MAX_SESSIONS_PER_MERCHANT" in (refusal.details() or "")
        assert retry_after_ms(refusal) == 1000
        assert await refused(capped[1], token(other)) is None, "another merchant is not affected"

        await first.__aexit__(None, None, None)
        for _ in range(50):  # the slot is released as the session ends
            if await refused(capped[1], token(merchant)) is None:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the ended session's slot was not released")
        await second.__aexit__(None, None, None)

    asyncio.run(run())


def test_slots_of_a_crashed_gateway_expire(gw_stack: GatewayStack, capped: tuple[str, str]) -> None:
    merchant = "m-crash"
    doomed = gw_stack.gateway(**CAPPED)

    async def run() -> float:
        held = [await Conversation(doomed.address, token(merchant)).__aenter__() for _ in range(2)]
        doomed.kill()  # SIGKILL: no clean-up, the slots stay in Redis
        refusal = await refused(capped[0], token(merchant))
        assert refusal is not None and refusal.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        killed_at = time.monotonic()
        while await refused(capped[0], token(merchant)) is not None:
            assert time.monotonic() - killed_at < 5, "the lease of a dead gateway's sessions never ran out"
            await asyncio.sleep(0.1)
        for conversation in held:
            await conversation.__aexit__(None, None, None)
        return time.monotonic() - killed_at

    assert asyncio.run(run()) <= 4, "SESSION_LEASE_S is 1 s here"


@pytest.fixture(scope="module")
def short_lived(gw_stack: GatewayStack) -> str:
    return gw_stack.gateway(SESSION_IDLE_TIMEOUT_S="0.6", SESSION_MAX_S="2").address


def test_idle_session_is_ended(short_lived: str) -> None:
    async def run() -> tuple[grpc.StatusCode, str, float]:
        async with Conversation(short_lived, token("m-idle")) as conversation:
            turn = await conversation.say("set the price of Z1 to 5")  # unknown SKU: a quick refusal
            assert turn.result is not None
            quiet_since = time.monotonic()
            code, details = await conversation.until_closed(5)
            return code, details, time.monotonic() - quiet_since

    code, details, after = asyncio.run(run())
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and "idle" in details
    assert 0.5 <= after < 3  # SESSION_MAX_S (2 s) would say so in the details


def test_busy_session_still_ends_at_its_maximum_duration(short_lived: str) -> None:
    async def run() -> tuple[grpc.StatusCode, str, float, int]:
        started = time.monotonic()
        turns = 0
        async with Conversation(short_lived, token("m-max", user="busy")) as conversation:
            try:
                while time.monotonic() - started < 4:
                    turn = await conversation.say("set the price of Z1 to 5")
                    assert turn.result is not None and turn.result.status == gw.RESULT_STATUS_REJECTED
                    turns += 1
                    await asyncio.sleep(0.3)  # never idle for 0.6 s
            except (grpc.aio.AioRpcError, RuntimeError):
                pass
            code, details = await conversation.until_closed(5)
            return code, details, time.monotonic() - started, turns

    code, details, lasted, turns = asyncio.run(run())
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and "SESSION_MAX_S" in details
    assert 1.8 <= lasted < 5 and turns >= 2


def test_sigterm_lets_a_command_in_flight_finish(gw_stack: GatewayStack) -> None:
    merchant = gw_stack.merchant()
    replica = gw_stack.gateway()

    async def run() -> gw.Result | None:
        async with Conversation(replica.address, token(merchant)) as conversation:
            turn = asyncio.create_task(conversation.say("set the price of A100 to 80"))
            await asyncio.sleep(0.005)
            replica.signal(signal.SIGTERM)
            return (await turn).result

    result = asyncio.run(run())
    assert result is not None and result.status == gw.RESULT_STATUS_OK
    assert replica.stop(timeout=15) == 0
    assert gw_stack.price(merchant, "A100") == 80


def test_a_stream_that_never_starts_a_session_is_closed(gw_stack: GatewayStack) -> None:
    replica = gw_stack.gateway(SESSION_START_TIMEOUT_S="0.5")

    async def run() -> tuple[grpc.StatusCode, str, float]:
        async with grpc.aio.insecure_channel(replica.address) as channel:
            silent = asyncio.Event()

            async def nothing() -> AsyncIterator[gw.ClientMessage]:
                await silent.wait()  # opens the stream, never sends SessionStart
                yield gw.ClientMessage()

            call = gateway_pb2_grpc.AssistantStub(channel).Converse(
                nothing(), metadata=(("authorization", f"Bearer {token('m-mute')}"),)
            )
            opened = time.monotonic()
            try:
                async for _ in call:
                    raise AssertionError("no message is due before SessionStart")
            except grpc.aio.AioRpcError as exc:
                return exc.code(), exc.details() or "", time.monotonic() - opened
            finally:
                silent.set()
            raise AssertionError("the stream stayed open")

    code, details, after = asyncio.run(run())
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and "SESSION_START_TIMEOUT_S" in details
    assert 0.4 <= after < 3

    async def still_serves() -> gw.Result | None:
        async with Conversation(replica.address, token("m-mute")) as conversation:
            return (await conversation.say("set the price of Z1 to 5")).result

    result = asyncio.run(still_serves())
    assert result is not None and result.status == gw.RESULT_STATUS_REJECTED
