"""The GPU engine: forward to an upstream NVIDIA Riva / NIM ASR server.

The request goes through unchanged except for one addition: the merchant's
catalog vocabulary (the newest products' SKUs as spoken and titles) as a speech_contexts
entry, so the upstream model is boosted towards the words this shop uses. Every call
carries a deadline; upstream errors come back with their own code and a message
that names the upstream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_asr_pb2_grpc as rasr_grpc

from services.asr import grammar
from services.asr.audio import AudioFormat
from services.asr.numbers import say_sku
from services.asr.vocabulary import Vocabulary
from shopvoice import grpc_server
from shopvoice.errors import DomainError

LANGUAGES = ("en-US", "zh-CN")
BOOST = 20.0


class UpstreamError(DomainError):
    """The upstream refused or failed; carries its status code."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def boost_phrases(vocabulary: Vocabulary, language: str, names: int = grammar.NAMES) -> list[str]:
    """What the upstream should favour: the SKUs of the name class (the `names` newest products, as
    the sphinx grammar lists them) as written and (in English) as spoken, and their titles. Not the
    whole catalog: 10,000 products made a context of 30,000 phrases sent with every request, and a
    boost spread over that many favours nothing; the NLU resolves the rest over the whole catalog."""
    chosen = grammar.name_class(vocabulary, names)
    skus = [sku for sku, _ in chosen if sku]
    spoken = [say_sku(s) for s in skus] if language.startswith("en") else []
    return [*skus, *spoken, *(title for _, title in chosen)]


def with_vocabulary(
    config: rasr.RecognitionConfig, vocabulary: Vocabulary, names: int = grammar.NAMES
) -> rasr.RecognitionConfig:
    """A copy of the caller's config with the catalog boost appended (the caller's own contexts kept)."""
    boosted = rasr.RecognitionConfig()
    boosted.CopyFrom(config)
    phrases = boost_phrases(vocabulary, config.language_code, names)
    if phrases:
        boosted.speech_contexts.append(rasr.SpeechContext(phrases=phrases, boost=BOOST))
    return boosted


class RivaEngine:
    languages = LANGUAGES
    takes_audio_as_sent = True  # the upstream Riva reads headers and decodes every encoding itself

    def __init__(
        self,
        url: str,
        use_ssl: bool,
        vocabulary: Vocabulary,
        stream_timeout_s: float,
        rpc_timeout_s: float,
        names: int = grammar.NAMES,
    ) -> None:
        self.url = url
        self.names = names  # ASR_GRAMMAR_NAMES: the products whose words are boosted
        self.use_ssl = use_ssl
        self._channel: grpc.aio.Channel | None = None
        self.vocabulary = vocabulary
        self.stream_timeout_s = stream_timeout_s
        self.rpc_timeout_s = rpc_timeout_s
        self._models: list[rasr.RivaSpeechRecognitionConfigResponse.Config] = []

    @property
    def stub(self) -> rasr_grpc.RivaSpeechRecognitionStub:
        """The upstream stub, its channel made on first use: grpc.aio channels belong to the running loop."""
        if self._channel is None:
            self._channel = (
                grpc.aio.secure_channel(self.url, grpc.ssl_channel_credentials())
                if self.use_ssl
                else grpc_server.channel(self.url)
            )
        return rasr_grpc.RivaSpeechRecognitionStub(self._channel)

    def set_vocabulary(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def _upstream_error(self, exc: grpc.aio.AioRpcError) -> UpstreamError:
        return UpstreamError(exc.code(), f"upstream Riva at {self.url}: {exc.details()}")

    async def streaming(
        self, config: rasr.StreamingRecognitionConfig, fmt: AudioFormat, chunks: AsyncIterator[bytes]
    ) -> AsyncIterator[rasr.StreamingRecognizeResponse]:
        del fmt  # validated by the boundary; the upstream gets the audio as sent
        first = rasr.StreamingRecognizeRequest(
            streaming_config=rasr.StreamingRecognitionConfig(
                config=with_vocabulary(config.config, self.vocabulary, self.names),
                interim_results=config.interim_results,
            )
        )

        call = self.stub.StreamingRecognize(timeout=self.stream_timeout_s)

        async def pump() -> None:
            """Audio to the upstream; a bad chunk (refused locally) ends the call here."""
            await call.write(first)
            async for chunk in chunks:
                await call.write(rasr.StreamingRecognizeRequest(audio_content=chunk))
            await call.done_writing()

        writer = asyncio.create_task(pump())
        try:
            while True:
                reader = asyncio.ensure_future(call.read())
                await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
                if writer.done() and writer.exception() is not None and not reader.done():
                    reader.cancel()
                    call.cancel()
                    raise writer.exception()  # type: ignore[misc]
                response = await reader
                if response is grpc.aio.EOF:  # type: ignore[attr-defined]
                    break
                yield response
        except grpc.aio.AioRpcError as exc:
            if writer.done() and not writer.cancelled() and writer.exception() is not None:
                raise writer.exception() from None  # type: ignore[misc]
            raise self._upstream_error(exc) from None
        finally:
            writer.cancel()
            call.cancel()

    async def recognize(self, config: rasr.RecognitionConfig, fmt: AudioFormat, audio: bytes) -> rasr.RecognizeResponse:
        timeout = self.rpc_timeout_s + fmt.seconds(len(audio))
        request = rasr.RecognizeRequest(config=with_vocabulary(config, self.vocabulary, self.names), audio=audio)
        try:
            response: rasr.RecognizeResponse = await self.stub.Recognize(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise self._upstream_error(exc) from None
        return response

    def models(self) -> list[rasr.RivaSpeechRecognitionConfigResponse.Config]:
        return list(self._models)

    async def refresh_models(self) -> None:
        """The upstream's own model list, served as ours (the engine adds nothing a client could pick)."""
        try:
            reply = await self.stub.GetRivaSpeechRecognitionConfig(
                rasr.RivaSpeechRecognitionConfigRequest(), timeout=self.rpc_timeout_s
            )
        except grpc.aio.AioRpcError as exc:
            raise self._upstream_error(exc) from None
        self._models = list(reply.model_config)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
