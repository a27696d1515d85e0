"""The gRPC boundary: nvidia.riva.asr.RivaSpeechRecognition over an engine.

Everything a caller can get wrong is checked here, before an engine sees it: a
first message that is not a config, unsupported formats and languages, odd or
oversized chunks, streams longer than allowed. Each becomes INVALID_ARGUMENT with
a message saying what to send instead; the stream ends and the process stays up.
Streams beyond ASR_MAX_STREAMS get RESOURCE_EXHAUSTED at once (callers retry
elsewhere) rather than queueing. Audio is read into a bounded queue, so a fast
sender waits on gRPC flow control instead of filling memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator

import grpc
import numpy as np
from prometheus_client import Counter, Gauge, Histogram
from riva.client.proto import riva_asr_pb2 as rasr
from riva.client.proto import riva_asr_pb2_grpc as rasr_grpc

from services.asr.audio import (
    DECODER_RATE,
    LINEAR_PCM,
    UNSPECIFIED,
    AudioError,
    AudioFormat,
    AudioInput,
    check_chunk,
    check_format,
    is_container_start,
)
from services.asr.config import AsrSettings
from services.asr.engines.base import Engine
from shopvoice import log
from shopvoice.errors import DomainError, InvalidArgument, status_for

ACTIVE_STREAMS = Gauge("sv_asr_active_streams", "Streams being recognised now")
STREAMS = Counter("sv_asr_streams_total", "Streams by outcome", ["code"])
AUDIO_SECONDS = Counter("sv_asr_audio_seconds_total", "Seconds of audio received")
FINAL_LATENCY = Histogram(
    "sv_asr_final_seconds",
    "From the last audio of an utterance read to its final result sent",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5),
)

_END = object()


class RivaAsrServicer(rasr_grpc.RivaSpeechRecognitionServicer):  # type: ignore[misc]
    def __init__(self, engine: Engine, settings: AsrSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.active = 0
        self.logger = log.get().bind(component="asr")

    # --- shared checks --------------------------------------------------------------------------

    def _check_config(self, config: rasr.RecognitionConfig) -> AudioFormat:
        fmt = check_format(config.encoding, config.sample_rate_hertz, config.audio_channel_count)
        language = config.language_code or self.settings.language
        # Language tags are case-insensitive (BCP 47): "en-us" is "en-US".
        served = {code.lower(): code for code in self.engine.languages}
        language = served.get(language.lower(), language)
        if language not in self.engine.languages:
            hint = (
                " (Chinese needs ASR_ENGINE=riva with an upstream Riva/NIM server)" if language.startswith("zh") else ""
            )
            raise InvalidArgument(
                f"language_code {language!r} is not served by the {self.settings.engine} engine; "
                f"it serves {', '.join(self.engine.languages)}{hint}"
            )
        config.language_code = language
        if config.max_alternatives < 0:
            raise InvalidArgument(f"max_alternatives {config.max_alternatives} must be 0 or more")
        if not self.engine.takes_audio_as_sent:
            # What the CPU engine cannot do is refused, not ignored (an upstream Riva judges for itself).
            # Punctuation, profanity filtering and verbatim (spoken-form) words need nothing: its
            # transcripts are the grammar's lower-case spoken words, with no profanity in it.
            if config.diarization_config.enable_speaker_diarization:
                raise InvalidArgument(
                    f"speaker diarization is not available on the {self.settings.engine} engine; "
                    "leave diarization_config unset (or use ASR_ENGINE=riva)"
                )
            if config.custom_configuration:
                keys = ", ".join(sorted(config.custom_configuration))
                raise InvalidArgument(
                    f"custom_configuration ({keys}) is not understood by the {self.settings.engine} engine; "
                    "leave it empty"
                )
        return fmt

    def _pcm_format(self, fmt: AudioFormat) -> AudioFormat:
        """What the engine is given: the audio as sent (an upstream Riva decodes it), or 16 kHz PCM."""
        return fmt if self.engine.takes_audio_as_sent else AudioFormat(DECODER_RATE)

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        if self.active >= self.settings.max_streams:
            raise _Exhausted(
                f"all {self.settings.max_streams} recognition streams of this server are busy; "
                "retry shortly or elsewhere"
            )
        self.active += 1
        ACTIVE_STREAMS.inc()
        try:
            yield
        finally:
            self.active -= 1
            ACTIVE_STREAMS.dec()

    async def _abort(self, context: grpc.aio.ServicerContext, exc: Exception) -> None:
        code = status_for(exc) if isinstance(exc, DomainError) else None
        if code is None:
            ref = uuid.uuid4().hex[:12]
            self.logger.exception("internal error", ref=ref)
            STREAMS.labels("INTERNAL").inc()
            await context.abort(grpc.StatusCode.INTERNAL, f"internal error (ref {ref}); it is logged, retry later")
        STREAMS.labels(code.name).inc()
        self.logger.info("request refused", code=code.name, reason=str(exc))
        await context.abort(code, str(exc))

    # --- RPCs -----------------------------------------------------------------------------------

    async def StreamingRecognize(
        self, request_iterator: AsyncIterator[rasr.StreamingRecognizeRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[rasr.StreamingRecognizeResponse]:
        reader: asyncio.Task[None] | None = None
        try:
            with self._slot():
                try:
                    first = await asyncio.wait_for(anext(request_iterator), self.settings.first_message_timeout_s)
                except StopAsyncIteration:
                    raise InvalidArgument("the stream ended before its first message (a streaming_config)") from None
                except TimeoutError:
                    raise InvalidArgument(
                        f"no streaming_config within {self.settings.first_message_timeout_s:g} s of opening the stream"
                    ) from None
                if not first.HasField("streaming_config"):
                    raise InvalidArgument(
                        "the first message must carry streaming_config (RecognitionConfig); audio_content comes after"
                    )
                config = first.streaming_config
                fmt = self._check_config(config.config)
                queue: asyncio.Queue[object] = asyncio.Queue(maxsize=self.settings.queue_chunks)
                reader = asyncio.create_task(self._read(request_iterator, queue, fmt))
                async for response in self.engine.streaming(config, self._pcm_format(fmt), self._drain(queue)):
                    if first.HasField("id"):
                        response.id.CopyFrom(first.id)  # the caller's request id, on every response
                    yield response
                STREAMS.labels("OK").inc()
        except _Exhausted as exc:
            STREAMS.labels("RESOURCE_EXHAUSTED").inc()
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        except asyncio.CancelledError:
            STREAMS.labels("CANCELLED").inc()
            raise
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await self._abort(context, exc)
        finally:
            if reader is not None:
                reader.cancel()

    async def _read(
        self, requests: AsyncIterator[rasr.StreamingRecognizeRequest], queue: asyncio.Queue[object], fmt: AudioFormat
    ) -> None:
        """Client messages into the bounded queue; a bad one is queued as its error, in order. The
        sphinx engine gets 16 kHz PCM, decoded here from whatever was sent (audio.AudioInput); an
        upstream Riva gets the bytes as they came."""
        as_sent = self.engine.takes_audio_as_sent
        decoder = None if as_sent else AudioInput(fmt)
        received = 0
        counted = 0.0
        first, pcm = True, fmt.raw and fmt.encoding in (UNSPECIFIED, LINEAR_PCM)

        def seconds() -> float:
            return fmt.seconds(received) if decoder is None else decoder.seconds

        async def put(samples: bytes) -> None:
            nonlocal counted
            AUDIO_SECONDS.inc(max(0.0, seconds() - counted))
            counted = seconds()
            if seconds() > self.settings.max_stream_seconds:
                raise AudioError(
                    f"the stream is longer than {self.settings.max_stream_seconds:g} s of audio "
                    "(ASR_MAX_STREAM_SECONDS); split the audio into several streams"
                )
            if samples:
                await queue.put(samples)

        try:
            async for request in requests:
                if request.HasField("streaming_config"):
                    raise InvalidArgument("streaming_config may only be sent once, in the first message")
                chunk = request.audio_content
                if first and chunk:
                    # Whole samples per message for raw 16-bit PCM; a file's bytes (header first, or
                    # G.711's single bytes) may split anywhere.
                    first = False
                    pcm = fmt.raw and fmt.encoding in (UNSPECIFIED, LINEAR_PCM) and not is_container_start(chunk)
                check_chunk(chunk, self.settings.max_chunk_bytes, pcm)
                received += len(chunk)
                await put(chunk if decoder is None else decoder.feed(chunk).tobytes())
            if decoder is not None:
                await put(decoder.flush().tobytes())
            await queue.put(_END)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await queue.put(exc)

    @staticmethod
    async def _drain(queue: asyncio.Queue[object]) -> AsyncIterator[bytes]:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item

    async def Recognize(
        self, request: rasr.RecognizeRequest, context: grpc.aio.ServicerContext
    ) -> rasr.RecognizeResponse:
        try:
            with self._slot():
                fmt = self._check_config(request.config)
                size, limit = len(request.audio), self.settings.max_recognize_bytes
                if size > limit:
                    raise AudioError(
                        f"{size} bytes of audio exceed the {limit}-byte limit of Recognize (ASR_MAX_RECOGNIZE_BYTES);"
                        " use StreamingRecognize, or send compressed audio (FLAC)"
                    )
                if self.engine.takes_audio_as_sent:
                    audio, seconds = request.audio, fmt.seconds(size)
                else:
                    decoder = AudioInput(fmt)
                    if (
                        fmt.raw
                        and fmt.encoding in (UNSPECIFIED, LINEAR_PCM)
                        and size % 2
                        and not is_container_start(request.audio)
                    ):
                        raise AudioError(f"audio has an odd byte count ({size}); 16-bit PCM comes in 2-byte samples")
                    pcm = np.concatenate([decoder.feed(request.audio), decoder.flush()])
                    audio, seconds, fmt = pcm.tobytes(), decoder.seconds, AudioFormat(DECODER_RATE)
                if seconds > self.settings.max_recognize_seconds:
                    raise AudioError(
                        f"{seconds:.1f} s of audio exceeds the {self.settings.max_recognize_seconds:g} s limit of"
                        " Recognize (ASR_MAX_RECOGNIZE_SECONDS); use StreamingRecognize"
                    )
                AUDIO_SECONDS.inc(seconds)
                response = await self.engine.recognize(request.config, fmt, audio)
                response.id.CopyFrom(request.id)
                STREAMS.labels("OK").inc()
                return response
        except _Exhausted as exc:
            STREAMS.labels("RESOURCE_EXHAUSTED").inc()
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await self._abort(context, exc)
        raise AssertionError("unreachable")

    async def GetRivaSpeechRecognitionConfig(
        self, request: rasr.RivaSpeechRecognitionConfigRequest, context: grpc.aio.ServicerContext
    ) -> rasr.RivaSpeechRecognitionConfigResponse:
        models = [m for m in self.engine.models() if not request.model_name or m.model_name == request.model_name]
        return rasr.RivaSpeechRecognitionConfigResponse(model_config=models)


class _Exhausted(Exception):
    """No free stream slot."""
