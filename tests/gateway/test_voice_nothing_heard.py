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
from riva.client.proto import riva_asr_pb2_grpc

from shopvoice.cli.client import Conversation
from tests.gateway.conftest import GatewayStack, token
from tests.support.processes import free_port

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
