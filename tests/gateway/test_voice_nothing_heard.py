"""A spoken utterance the ASR ends without any final transcript still gets an answer.

Riva (and our CPU server, when neither the grammar nor the language model makes
anything of a noisy stretch) may close a stream with no result at all. The upstream
here is a Riva-API server in the test process that does exactly that: it stands in
for NVIDIA's service, not ours. Before the fix the client waited until its timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_asr_pb2_grpc

from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli.client import Conversation
from tests.gateway.conftest import GatewayStack, token
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e


class HearsNothing(riva_asr_pb2_grpc.RivaSpeechRecognitionServicer):
    def StreamingRecognize(self, request_iterator, context):  # type: ignore[no-untyped-def]
        for _ in request_iterator:  # read the whole stream, answer nothing
            pass
        return iter(())


@pytest.fixture(scope="module")
def deaf_asr() -> Iterator[str]:
    server = grpc.server(ThreadPoolExecutor(4))
    riva_asr_pb2_grpc.add_RivaSpeechRecognitionServicer_to_server(HearsNothing(), server)
    address = f"127.0.0.1:{free_port()}"
    server.add_insecure_port(address)
    server.start()
    yield address
    server.stop(None)


def test_an_utterance_with_no_final_transcript_is_answered_not_found(gw_stack: GatewayStack, deaf_asr: str) -> None:
    gateway = gw_stack.gateway(ASR_ADDR=deaf_asr)
    merchant = gw_stack.merchant()

    async def speak() -> list[str]:
        async with Conversation(gateway.address, token(merchant), timeout_s=10) as conversation:
            turn = await conversation.speak(b"\x10\x00" * 16_000, realtime=False)
            return [m.WhichOneof("kind") for m in turn.messages] + [turn.messages[-1].error.code]

    assert asyncio.run(speak()) == ["error", "NOT_FOUND"]


class ServesEnglishOnly(HearsNothing):
    """Says (as Riva does) which languages its models serve."""

    def GetRivaSpeechRecognitionConfig(self, request, context):  # type: ignore[no-untyped-def]
        config = rasr.RivaSpeechRecognitionConfigResponse.Config(
            model_name="en-only", parameters={"language_code": "en-US", "type": "online"}
        )
        return rasr.RivaSpeechRecognitionConfigResponse(model_config=[config])


def test_speech_in_a_language_the_asr_does_not_serve_is_refused_and_the_session_goes_on(
    gw_stack: GatewayStack,
) -> None:
    server = grpc.server(ThreadPoolExecutor(4))
    riva_asr_pb2_grpc.add_RivaSpeechRecognitionServicer_to_server(ServesEnglishOnly(), server)
    address = f"127.0.0.1:{free_port()}"
    server.add_insecure_port(address)
    server.start()
    try:
        gateway = gw_stack.gateway(ASR_ADDR=address)
        merchant = gw_stack.merchant()

        async def converse() -> tuple[gw.Error, gw.Result | None]:
            async with Conversation(gateway.address, token(merchant), timeout_s=10, language="zh-CN") as conversation:
                spoken = await conversation.speak(b"\x10\x00" * 16_000, realtime=False)
                typed = await conversation.say("A100还有多少库存")
                return spoken.messages[-1].error, typed.result

        error, result = asyncio.run(converse())
    finally:
        server.stop(None)
    assert error.code == "INVALID_ARGUMENT" and "zh-CN" in error.message and "en-US" in error.message
    assert result is not None and result.status == gw.RESULT_STATUS_OK
