"""Voice sessions under refusal: the ASR refusing an utterance while the client keeps sending
audio no longer holds the session (its next text turn and EndSession are handled), and an
utterance over MAX_UTTERANCE_S is refused INVALID_ARGUMENT by the gateway, nothing of it run.
The upstream is a Riva-API server in the test process (it stands in for NVIDIA's, not ours)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from riva.client.proto import riva_asr_pb2_grpc

from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.gateway.v1 import gateway_pb2_grpc
from tests.gateway.conftest import GatewayStack, gw_stack, token  # noqa: F401  (gw_stack: the fixture)
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

CHUNK = b"\x10\x00" * 1600  # 100 ms at 16 kHz


class RefusesAtOnce(riva_asr_pb2_grpc.RivaSpeechRecognitionServicer):
    def StreamingRecognize(self, request_iterator, context):  # type: ignore[no-untyped-def]
        next(request_iterator)
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, "this audio is not speech")


class HearsNothing(riva_asr_pb2_grpc.RivaSpeechRecognitionServicer):
    def StreamingRecognize(self, request_iterator, context):  # type: ignore[no-untyped-def]
        for _ in request_iterator:
            pass
        return iter(())


@pytest.fixture
def riva() -> Iterator[dict[str, str]]:
    servers: dict[str, str] = {}
    running = []
    for name, servicer in (("refuses", RefusesAtOnce()), ("deaf", HearsNothing())):
        server = grpc.server(ThreadPoolExecutor(4))
        riva_asr_pb2_grpc.add_RivaSpeechRecognitionServicer_to_server(servicer, server)
        address = f"127.0.0.1:{free_port()}"
        server.add_insecure_port(address)
        server.start()
        servers[name] = address
        running.append(server)
    yield servers
    for server in running:
        server.stop(None)


def test_the_session_goes_on_after_the_asr_refuses_an_utterance(gw_stack: GatewayStack, riva: dict[str, str]) -> None:  # noqa: F811
    gateway = gw_stack.gateway(ASR_ADDR=riva["refuses"])
    merchant = gw_stack.merchant()
    audio = [gw.ClientMessage(audio=gw.AudioChunk(content=CHUNK)) for _ in range(300)]  # far past the 64-chunk queue
    messages = [
        *audio,
        gw.ClientMessage(audio=gw.AudioChunk(end_of_utterance=True)),
        gw.ClientMessage(text=gw.TextInput(text="how many A100 are left")),
    ]
    replies, code = asyncio.run(converse_until_result(gateway.address, merchant, messages))
    errors = [r.error for r in replies if r.WhichOneof("kind") == "error"]
    results = [r.result for r in replies if r.WhichOneof("kind") == "result"]
    # The refusal's own code: INVALID_ARGUMENT, or INTERNAL when it races the audio still being
    # written (grpc/grpc#36066); either way one error for the utterance, and the session goes on.
    assert len(errors) == 1 and errors[0].code in ("INVALID_ARGUMENT", "INTERNAL"), errors
    assert len(results) == 1 and results[0].status == gw.RESULT_STATUS_OK
    assert code == "OK"


def test_an_oversized_upload_is_invalid_argument_and_nothing_of_it_runs(
    gw_stack: GatewayStack,  # noqa: F811
    riva: dict[str, str],
) -> None:
    gateway = gw_stack.gateway(ASR_ADDR=riva["deaf"], MAX_UTTERANCE_S="2")
    merchant = gw_stack.merchant()
    messages = [
        *(gw.ClientMessage(audio=gw.AudioChunk(content=CHUNK)) for _ in range(100)),  # 10 s
        gw.ClientMessage(audio=gw.AudioChunk(end_of_utterance=True)),
        gw.ClientMessage(text=gw.TextInput(text="how many A100 are left")),
    ]
    replies, code = asyncio.run(converse_until_result(gateway.address, merchant, messages))
    errors = [r.error for r in replies if r.WhichOneof("kind") == "error"]
    results = [r.result for r in replies if r.WhichOneof("kind") == "result"]
    assert [e.code for e in errors] == ["INVALID_ARGUMENT"], errors
    assert "MAX_UTTERANCE_S" in errors[0].message
    assert len(results) == 1 and results[0].status == gw.RESULT_STATUS_OK
    assert code == "OK"


async def converse_until_result(
    address: str, merchant: str, messages: list[gw.ClientMessage]
) -> tuple[list[gw.ServerMessage], str]:
    """As `converse`, ending the session (EndSession) once the text turn's result arrives."""
    outgoing: asyncio.Queue[gw.ClientMessage | None] = asyncio.Queue()
    await outgoing.put(gw.ClientMessage(start=gw.SessionStart(language="en-US", sample_rate_hz=16_000)))
    for message in messages:
        await outgoing.put(message)

    async def requests() -> AsyncIterator[gw.ClientMessage]:
        while (message := await outgoing.get()) is not None:
            yield message

    replies: list[gw.ServerMessage] = []
    async with grpc.aio.insecure_channel(address) as channel:
        call = gateway_pb2_grpc.AssistantStub(channel).Converse(
            requests(), metadata=[("authorization", f"Bearer {token(merchant)}")], timeout=30
        )
        async for reply in call:
            replies.append(reply)
            if reply.WhichOneof("kind") == "result":
                await outgoing.put(gw.ClientMessage(end=gw.EndSession()))
                await outgoing.put(None)
        return replies, (await call.code()).name
