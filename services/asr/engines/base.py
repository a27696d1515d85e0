"""What the gRPC boundary needs from an engine: streams in, Riva responses out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from riva.client.proto import riva_asr_pb2 as rasr

from services.asr.audio import AudioFormat


class Engine(Protocol):
    """Validated audio in, Riva responses out; errors are domain exceptions (see shopvoice.errors)."""

    @property
    def languages(self) -> tuple[str, ...]: ...

    # True: the engine gets the audio as the caller sent it (an upstream Riva decodes it); False: the
    # boundary decodes it (WAV/FLAC headers, G.711) into 16 kHz mono PCM first.
    takes_audio_as_sent: bool

    def streaming(
        self, config: rasr.StreamingRecognitionConfig, fmt: AudioFormat, chunks: AsyncIterator[bytes]
    ) -> AsyncIterator[rasr.StreamingRecognizeResponse]: ...

    async def recognize(
        self, config: rasr.RecognitionConfig, fmt: AudioFormat, audio: bytes
    ) -> rasr.RecognizeResponse: ...

    def models(self) -> list[rasr.RivaSpeechRecognitionConfigResponse.Config]: ...

    async def close(self) -> None: ...
