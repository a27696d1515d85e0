"""Talking to an ASR server the way the gateway does: through nvidia-riva-client."""

from __future__ import annotations

import collections
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import replace

import numpy as np
import riva.client
from prometheus_client.parser import text_string_to_metric_families
from riva.client.proto import riva_asr_pb2 as rasr

from services.asr.config import AsrSettings
from services.asr.endpointing import FRAME_SAMPLES, Endpointer, EndpointSettings, Event
from services.asr.engines.sphinx import DecodingOptions
from services.asr.vocabulary import DEMO_VOCABULARY


def client(address: str) -> riva.client.ASRService:
    return riva.client.ASRService(riva.client.Auth(uri=address))


def streaming_config(
    rate: int = 16_000,
    language: str = "en-US",
    model: str = "",
    interim: bool = False,
    words: bool = True,
    encoding: int = riva.client.AudioEncoding.LINEAR_PCM,
    channels: int = 1,
    **endpointing: float,
) -> rasr.StreamingRecognitionConfig:
    config = riva.client.RecognitionConfig(
        encoding=encoding,
        sample_rate_hertz=rate,
        language_code=language,
        model=model,
        enable_word_time_offsets=words,
        audio_channel_count=channels,
    )
    if endpointing:
        config.endpointing_config.CopyFrom(rasr.EndpointingConfig(**endpointing))
    return riva.client.StreamingRecognitionConfig(config=config, interim_results=interim)


def chunks(audio: bytes, rate: int = 16_000, chunk_ms: int = 100) -> Iterator[bytes]:
    step = rate * 2 * chunk_ms // 1000
    for i in range(0, len(audio), step):
        yield audio[i : i + step]


def stream(
    asr: riva.client.ASRService, audio: Iterable[bytes], config: rasr.StreamingRecognitionConfig
) -> list[rasr.StreamingRecognitionResult]:
    """Every result of one stream, in order."""
    return [r for response in asr.streaming_response_generator(audio, config) for r in response.results]


def finals(results: list[rasr.StreamingRecognitionResult]) -> str:
    return " ".join(r.alternatives[0].transcript for r in results if r.is_final and r.alternatives)


def endpoint_events(audio: bytes, stop_history_ms: int) -> list[tuple[int, Event]]:
    """Every event the server's endpointer (its default pauses) reports on this 16 kHz audio, with
    the frames fed when it did, its own included: frames * FRAME_MS is the stream time a final
    sent there reports as audio_processed."""
    defaults = AsrSettings()
    endpointer = Endpointer(
        EndpointSettings(
            stop_history_ms=stop_history_ms,
            phrase_pause_ms=defaults.phrase_pause_ms,
            closed_phrase_pause_ms=defaults.closed_phrase_pause_ms,
        )
    )
    samples = np.frombuffer(audio, dtype="<i2")
    events = []
    for i in range(len(samples) // FRAME_SAMPLES):
        event = endpointer.feed(samples[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
        if event is not None:
            events.append((i + 1, event))
    return events


def metric_samples(metrics_port: str | int, sample: str) -> list[tuple[dict[str, str], float]]:
    """The samples named `sample` on a server's /metrics, read with prometheus_client's own parser."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
    return [(s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples if s.name == sample]


def utterance_ends(metrics_port: str | int) -> collections.Counter[str]:
    """An ASR server's sv_asr_utterance_ends_total, by what ended the utterance."""
    samples = metric_samples(metrics_port, "sv_asr_utterance_ends_total")
    return collections.Counter({labels["by"]: int(value) for labels, value in samples})


def continuations_dropped(metrics_port: str | int) -> float:
    """An ASR server's sv_asr_continuations_dropped_total."""
    samples = metric_samples(metrics_port, "sv_asr_continuations_dropped_total")
    assert samples, "the counter is exported"
    return samples[0][1]


def decoding_options(**changes: object) -> DecodingOptions:
    """What a decoder pool under test is built with: the demo vocabulary, built-in phrases, the
    default comfort noise, no fallback below a confidence, one decoder made up front; `changes` over it."""
    options = DecodingOptions(
        DEMO_VOCABULARY,
        use_nlu_phrases=False,
        comfort_noise_rms=100.0,
        comfort_noise_below_db=32.0,
        fallback_confidence=0.0,
        decoders=1,
    )
    return replace(options, **changes)  # type: ignore[arg-type]
