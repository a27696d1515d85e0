"""The gateway's ear: client audio to the ASR service over Riva's own API.

services/asr speaks nvidia.riva.asr.RivaSpeechRecognition, so the same code talks
to our CPU server or to a real Riva/NIM deployment: the address (ASR_ADDR) is the
only difference. The stubs are nvidia-riva-client's; the calls are grpc.aio's, so
one gateway process streams many sessions at once without threads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_asr_pb2_grpc
from riva.client.proto import riva_audio_pb2 as raudio

from shopvoice import tracing

# Riva wants a language code; a session that named none is taken as English (the CPU
# engine's only language; a Riva upstream also serves zh-CN).
DEFAULT_LANGUAGE = "en-US"


@dataclass(frozen=True)
class Heard:
    """One transcript from the ASR: interim (may change) or final (an utterance)."""

    text: str
    is_final: bool
    confidence: float


class SpeechRecognizer:
    def __init__(self, channel: grpc.aio.Channel, stream_timeout_s: float, model: str = "") -> None:
        self.stub = riva_asr_pb2_grpc.RivaSpeechRecognitionStub(channel)
        self.stream_timeout_s = stream_timeout_s
        # Riva's RecognitionConfig.model: "" lets the server choose (our CPU server: the
        # command grammar); a name picks another, e.g. "generic" for the accuracy comparison.
        self.model = model
        self._languages: frozenset[str] | None = None

    async def served_languages(self) -> frozenset[str] | None:
        """The language codes the ASR's models serve (GetRivaSpeechRecognitionConfig), asked
        once; None when the server would not say, and then the stream itself will tell."""
        if self._languages is None:
            try:
                response = await self.stub.GetRivaSpeechRecognitionConfig(
                    rasr.RivaSpeechRecognitionConfigRequest(), timeout=5
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                    self._languages = frozenset()  # it never will say: do not ask on every utterance
                return None
            codes = {m.parameters.get("language_code", "") for m in response.model_config}
            self._languages = frozenset(c for c in codes if c)
        return self._languages or None

    async def recognize(self, audio: AsyncIterator[bytes], sample_rate_hz: int, language: str) -> AsyncIterator[Heard]:
        """Transcripts as the ASR produces them, for 16-bit mono PCM chunks until `audio` ends."""
        config = rasr.StreamingRecognitionConfig(
            config=rasr.RecognitionConfig(
                encoding=raudio.AudioEncoding.LINEAR_PCM,
                sample_rate_hertz=sample_rate_hz,
                language_code=language or DEFAULT_LANGUAGE,
                model=self.model,
                max_alternatives=1,
                audio_channel_count=1,
                enable_automatic_punctuation=False,
            ),
            interim_results=True,
        )

        async def requests() -> AsyncIterator[rasr.StreamingRecognizeRequest]:
            yield rasr.StreamingRecognizeRequest(streaming_config=config)
            async for chunk in audio:
                yield rasr.StreamingRecognizeRequest(audio_content=chunk)

        call = self.stub.StreamingRecognize(
            requests(), timeout=self.stream_timeout_s, metadata=tracing.current_metadata()
        )
        async for response in call:
            for result in response.results:
                if result.alternatives:
                    best = result.alternatives[0]
                    yield Heard(best.transcript.strip(), result.is_final, best.confidence)
