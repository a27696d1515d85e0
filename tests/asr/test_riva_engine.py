"""The riva engine, with our own sphinx server as the upstream Riva (a second real process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_asr_pb2_grpc as rasr_grpc

from services.asr.engines.riva import boost_phrases, with_vocabulary
from services.asr.vocabulary import DEMO_VOCABULARY
from tests.asr.conftest import BASE_ENV, say
from tests.asr.support import chunks, client, finals, stream, streaming_config
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def forwarder(asr_server: ServiceProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        "asr", {**BASE_ENV, "ASR_ENGINE": "riva", "RIVA_URL": asr_server.address}, tmp_path_factory.mktemp("riva")
    ).start()
    yield proc
    assert proc.stop() == 0, proc.log()[-3000:]


def test_the_catalog_vocabulary_is_added_as_a_boosted_speech_context() -> None:
    mine = rasr.SpeechContext(phrases=["hello"], boost=4.0)
    config = rasr.RecognitionConfig(language_code="en-US", speech_contexts=[mine])
    boosted = with_vocabulary(config, DEMO_VOCABULARY)
    assert boosted.speech_contexts[0] == mine  # the caller's own context is kept, first
    added = boosted.speech_contexts[1]
    assert {"A100", "a one hundred", "red t-shirt"} <= set(added.phrases) and added.boost > 0
    assert len(config.speech_contexts) == 1  # the caller's message is not modified
    assert "a one hundred" not in boost_phrases(DEMO_VOCABULARY, "zh-CN")  # English spellings only in English


def test_the_boost_is_the_newest_products_not_the_whole_catalog() -> None:
    from services.asr.vocabulary import Vocabulary
    from tests.support.synthetic_catalog import products

    shop = Vocabulary(products=tuple(products(10_000)))
    phrases = boost_phrases(shop, "en-US", names=50)
    newest_sku, newest_title = shop.products[0]
    assert {newest_sku, newest_title} <= set(phrases)
    assert shop.products[-1][0] not in phrases  # the oldest: left to the NLU's resolution
    assert len(phrases) <= 150  # 50 SKUs, 50 spoken, 50 titles: not 30,000 with every request


def test_streams_are_forwarded_and_results_come_back(forwarder: ServiceProcess, spoken_dir: Path) -> None:
    text = "what's the status of order one two three four"
    results = stream(client(forwarder.address), chunks(say(text, spoken_dir)), streaming_config(interim=True))
    assert finals(results) == text
    assert any(not r.is_final for r in results)


def test_offline_requests_are_forwarded(forwarder: ServiceProcess, spoken_dir: Path) -> None:
    config = rasr.RecognitionConfig(encoding=rasr.RecognitionConfig().encoding or 1, sample_rate_hertz=16_000)
    response = client(forwarder.address).offline_recognize(say("undo that", spoken_dir), config)
    assert [r.alternatives[0].transcript for r in response.results] == ["undo that"]


def test_chinese_passes_the_forwarder_and_the_upstream_answer_is_relayed(forwarder: ServiceProcess) -> None:
    # The riva engine serves zh-CN; this upstream (our sphinx server) does not, and says so.
    # The config alone: a client that goes on writing after the refusal may see the gRPC
    # core's own INTERNAL instead of the server's status (grpc/grpc#36066).
    with pytest.raises(grpc.RpcError) as caught:
        stream(client(forwarder.address), [], streaming_config(language="zh-CN"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith(f"upstream Riva at {forwarder.env['RIVA_URL']}: ")
    assert "'zh-CN' is not served by the sphinx engine" in caught.value.details()


def test_local_validation_happens_before_forwarding(forwarder: ServiceProcess) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        stream(client(forwarder.address), [b"\0" * 3201], streaming_config())
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "odd byte count" in caught.value.details() and "upstream" not in caught.value.details()


def test_an_unreachable_upstream_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    proc = ServiceProcess("asr", {**BASE_ENV, "ASR_ENGINE": "riva", "RIVA_URL": "127.0.0.1:9"}, tmp_path).start()
    try:
        stub = rasr_grpc.RivaSpeechRecognitionStub(grpc.insecure_channel(proc.address))
        with pytest.raises(grpc.RpcError) as caught:
            stub.Recognize(
                rasr.RecognizeRequest(
                    config=rasr.RecognitionConfig(encoding=1, sample_rate_hertz=16_000), audio=b"\0" * 3200
                ),
                timeout=20,
            )
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "upstream Riva at 127.0.0.1:9" in caught.value.details()
    finally:
        assert proc.stop() == 0
