"""A streaming call refused for its identity says why, every time.

A caller's first message is already on its way when the server decides to refuse. Ending the
call before reading it races that send, and the grpc client then reports INTERNAL ("Internal
error from Core") in place of the status sent (grpc/grpc#36066): a Riva client with a bad token
would never learn that its token was the problem. The ASR's StreamingRecognize, called the way
NVIDIA's clients call it (config first, audio right after), is refused for 40 callers at once."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from riva.client.proto import riva_asr_pb2, riva_asr_pb2_grpc, riva_audio_pb2

from shopvoice import identity
from shopvoice_cli.stack import KEY_HOLDERS
from tests.support.processes import ServiceProcess

CALLS = 40  # at once, as a gateway's sessions would open them


@pytest.fixture(scope="module")
def asr(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    logs: Path = tmp_path_factory.mktemp("stream-refusals")
    keys = identity.keys_for(list(KEY_HOLDERS), "k1")
    env = {
        "REDIS_URL": redis_url,
        "STREAM_PREFIX": f"svsr{uuid.uuid4().hex[:8]}",
        "SHOPVOICE_DEV_MODE": "0",
        "ASR_PHRASES": "builtin",
        "ASR_DECODE_WORKERS": "1",
        "INTERNAL_KEYS": keys["asr"],
    }
    process = ServiceProcess("asr", env, logs).start()
    try:
        yield process.address
    finally:
        process.stop()


async def requests() -> AsyncIterator[riva_asr_pb2.StreamingRecognizeRequest]:
    config = riva_asr_pb2.RecognitionConfig(
        encoding=riva_audio_pb2.AudioEncoding.LINEAR_PCM, sample_rate_hertz=16000, language_code="en-US"
    )
    yield riva_asr_pb2.StreamingRecognizeRequest(
        streaming_config=riva_asr_pb2.StreamingRecognitionConfig(config=config)
    )
    for _ in range(5):
        yield riva_asr_pb2.StreamingRecognizeRequest(audio_content=b"\0" * 3200)


async def refused(address: str, metadata: list[tuple[str, str]]) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(address) as channel:
        stub = riva_asr_pb2_grpc.RivaSpeechRecognitionStub(channel)
        try:
            async for _reply in stub.StreamingRecognize(requests(), metadata=metadata, timeout=10):
                pass
        except grpc.RpcError as exc:
            return exc.code()
    return grpc.StatusCode.OK


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no-token", "forged-token"])
def test_a_refused_stream_is_told_unauthenticated_every_time(asr: str, token: str | None) -> None:
    """Before the fix, 19 to 40 of 40 concurrent calls here ended INTERNAL."""
    metadata = [(identity.METADATA_KEY, token)] if token is not None else []

    async def calls() -> list[grpc.StatusCode]:
        return await asyncio.gather(*(refused(asr, metadata) for _ in range(CALLS)))

    codes = Counter(asyncio.run(calls()))
    assert codes == Counter({grpc.StatusCode.UNAUTHENTICATED: CALLS}), codes
