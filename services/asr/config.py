"""ASR settings from the environment (every variable in docs/configuration.md)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shopvoice.config import RedisSettings, ServiceSettings

# The rejection thresholds' defaults, measured on the spoken set's dev half (services/asr/engines/sphinx.py).
REJECT_SCORE_GAP = -6.0
REJECT_SCORE_GAP_SHORT = -12.0

DEFAULT_PORT = 50052
# The pause after a phrase the grammar lets go no further ("... fifty dollars", "what are today's
# sales"). No hesitation can cut such a phrase short, so the wait only has to outlast the decoder: its
# partial hypothesis must already hold the last word when the pause is checked (else the end waits for
# ASR_PHRASE_PAUSE_MS, correct but no faster). On the 78 closed commands of 150 from the espeak test set
# (seed 7), a 50-80 ms pause ended 72-76 of them there, exact matches as without it (71-72 of 78 against
# 71 clean, 73-75 against 74 at 20 dB SNR); with a 100 ms hesitation cut into commands (431 cases), 386
# exact with and without it. 60 rather than 50: a real voice's word-final stop closures and the VAD's
# dips run longer than espeak's, and 10 ms is little to give for that margin.
CLOSED_PHRASE_PAUSE_MS = 60


class AsrSettings(ServiceSettings, RedisSettings):
    """Engine choice, limits that protect the process, and where the vocabulary comes from."""

    engine: Literal["sphinx", "riva"] = Field(
        "sphinx", alias="ASR_ENGINE", description="sphinx (CPU) or riva (upstream)"
    )
    riva_url: str = Field("", alias="RIVA_URL", description="host:port of the upstream Riva/NIM server (engine riva)")
    riva_use_ssl: bool = Field(False, alias="RIVA_USE_SSL")
    language: str = Field("en-US", alias="ASR_LANGUAGE", description="language used when a request names none")
    max_streams: int = Field(32, alias="ASR_MAX_STREAMS", ge=1, description="concurrent streams per process")
    max_stream_seconds: float = Field(120.0, alias="ASR_MAX_STREAM_SECONDS", gt=0)
    max_silence_seconds: float = Field(
        15.0, alias="ASR_MAX_SILENCE_SECONDS", gt=0, description="a stream with no speech this long is refused"
    )
    max_chunk_bytes: int = Field(
        256_000, alias="ASR_MAX_CHUNK_BYTES", ge=320, description="largest audio_content of one streaming message"
    )
    max_recognize_seconds: float = Field(60.0, alias="ASR_MAX_RECOGNIZE_SECONDS", gt=0)
    max_recognize_bytes: int = Field(
        4 * 1024 * 1024,
        alias="ASR_MAX_RECOGNIZE_BYTES",
        ge=64 * 1024,
        description="largest audio of one Recognize request; larger ones are refused with this limit named"
        " (the server takes messages up to twice this, so the refusal is ours and says what to do)",
    )
    continuation_max_ms: int = Field(
        500,
        alias="ASR_CONTINUATION_MAX_MS",
        ge=0,
        description="speech resuming within this long (and within the caller's stop window) after a phrase ended"
        " at a pause is the same utterance and not sent; after longer, it is a new utterance (a next command)",
    )
    queue_chunks: int = Field(16, alias="ASR_QUEUE_CHUNKS", ge=1, description="audio messages buffered per stream")
    decode_workers: int = Field(
        0,
        alias="ASR_DECODE_WORKERS",
        ge=0,
        description="decoding processes of the sphinx engine; 0 = the number of cores",
    )
    phrase_pause_ms: int = Field(
        120,
        alias="ASR_PHRASE_PAUSE_MS",
        ge=0,
        description="a pause this long ends an utterance whose words are a whole grammar phrase"
        " (0 = off, closed phrases included: every utterance waits for the stop window)",
    )
    closed_phrase_pause_ms: int = Field(
        CLOSED_PHRASE_PAUSE_MS,
        alias="ASR_CLOSED_PHRASE_PAUSE_MS",
        ge=0,
        description="a pause this long ends an utterance whose words are a whole grammar phrase that no word may"
        " continue (0 = they wait ASR_PHRASE_PAUSE_MS too); at most ASR_PHRASE_PAUSE_MS",
    )
    interim_interval_ms: int = Field(200, alias="ASR_INTERIM_INTERVAL_MS", ge=20)
    first_message_timeout_s: float = Field(10.0, alias="ASR_FIRST_MESSAGE_TIMEOUT_S", gt=0)
    fallback_confidence: float = Field(
        0.0,
        alias="ASR_FALLBACK_CONFIDENCE",
        ge=0,
        le=1,
        description="grammar results below this confidence are re-decoded with the full language model",
    )
    reject: bool = Field(
        True,
        alias="ASR_REJECT",
        description="run a phone loop beside each grammar decoder and reject what free speech explains better"
        " (off: the grammar's best phrase is always the answer, as before issue 27)",
    )
    reject_score_gap: float = Field(
        REJECT_SCORE_GAP,
        alias="ASR_REJECT_SCORE_GAP",
        description="rejection: a grammar result whose path scores this much under a phone loop's, per 10 ms"
        " frame (pocketsphinx log units), is no command (set from the spoken set's dev half, docs/asr.md)",
    )
    reject_score_gap_short: float = Field(
        REJECT_SCORE_GAP_SHORT,
        alias="ASR_REJECT_SCORE_GAP_SHORT",
        description="the same for a phrase of one or two words (confirm, undo that), which scores lower",
    )
    open_vocabulary: Literal["auto", "off"] = Field(
        "auto",
        alias="ASR_OPEN_VOCABULARY",
        description="auto: speech the grammar rejects goes to whisper-base when its model is installed"
        " (make models; WHISPER_MODEL_PATH for your own), else the ASR is grammar-only and logs so; off: never",
    )
    open_vocabulary_threads: int = Field(2, alias="ASR_OPEN_VOCABULARY_THREADS", ge=1)
    open_vocabulary_max_wait_s: float = Field(
        3.0,
        alias="ASR_OPEN_VOCABULARY_MAX_WAIT_S",
        ge=0,
        description="an utterance that waited this long for the whisper process is not decoded there"
        " (it keeps the grammar's answer); 0: no limit",
    )
    phrases: Literal["auto", "builtin"] = Field(
        "auto",
        alias="ASR_PHRASES",
        description="auto: the grammar's sentences (shopvoice/grammar) plus the built-in phrases; builtin: those alone",
    )
    comfort_noise_rms: float = Field(
        100.0,
        alias="ASR_COMFORT_NOISE_RMS",
        ge=0,
        description="the lowest level (rms, 16-bit) of the faint pink noise under the audio the sphinx engine decodes",
    )
    comfort_noise_below_db: float = Field(
        32.0,
        alias="ASR_COMFORT_NOISE_BELOW_DB",
        ge=0,
        description="the comfort noise follows the speaker: this many dB under the stream's loudest 32 ms, less"
        " the stream's own background (0 = a fixed level, ASR_COMFORT_NOISE_RMS; both 0 = no comfort noise)",
    )
    denoise: bool = Field(
        True,
        alias="ASR_DENOISE",
        description="take steady background noise out before endpointing and decoding (spectral gating; 40 ms lag"
        " where there is noise, none for streams that open quiet)",
    )
    catalog_addr: str = Field("", alias="CATALOG_ADDR", description="catalog gRPC address for the vocabulary")
    orders_addr: str = Field(
        "", alias="ORDERS_ADDR", description="orders gRPC address: the shop's last order number bounds those heard"
    )
    order_id_headroom: int = Field(
        1000,
        alias="ASR_ORDER_ID_HEADROOM",
        ge=1,
        description="order numbers heard run this far (to twice this) past the last order, for orders placed"
        " between refreshes",
    )
    grammar_names: int = Field(
        50,  # grammar.NAMES
        alias="ASR_GRAMMAR_NAMES",
        ge=0,
        description="product titles in the grammar: the catalog's newest this many (SKUs are heard by their"
        " pattern, every other title by the open-vocabulary engine); a turn's cost grows with it, not the catalog",
    )
    vocabulary_merchant_id: str = Field("demo", alias="ASR_VOCABULARY_MERCHANT_ID")
    vocabulary_refresh_s: float = Field(
        60.0,
        alias="ASR_VOCABULARY_REFRESH_S",
        gt=0,
        description="poll the catalog and orders for the vocabulary this often (product changes also wake it)",
    )
    vocabulary_settle_s: float = Field(
        2.0,
        alias="ASR_VOCABULARY_SETTLE_S",
        ge=0,
        description="after a product change event, fetch the vocabulary once the catalog has been quiet this long"
        " (a new product is heard by its SKU and title this long plus a grammar build after it is created)",
    )
    vocabulary_max_delay_s: float = Field(
        30.0,
        alias="ASR_VOCABULARY_MAX_DELAY_S",
        ge=0,
        description="but no later than this after the first change: during a bulk import (an event per"
        " product) a fetch, and a grammar build, this often",
    )

    @model_validator(mode="after")
    def _closed_pause_not_longer(self) -> AsrSettings:
        if self.phrase_pause_ms and self.closed_phrase_pause_ms > self.phrase_pause_ms:
            raise ValueError(
                f"ASR_CLOSED_PHRASE_PAUSE_MS ({self.closed_phrase_pause_ms}) must not exceed ASR_PHRASE_PAUSE_MS"
                f" ({self.phrase_pause_ms}): it is the shorter pause, for phrases the grammar lets go no further;"
                " lower it too, or set it to 0 so closed phrases wait ASR_PHRASE_PAUSE_MS as well"
            )
        return self

    @property
    def decoding_processes(self) -> int:
        return self.decode_workers or usable_cores()


def usable_cores(cpu_max: Path = Path("/sys/fs/cgroup/cpu.max")) -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup v2 CPU quota (a container's
    limits.cpu). os.cpu_count() would say 64 on a 64-core node for a pod limited to 2 cores, and one
    decoding process per core would then run it out of memory."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = cpu_max.read_text().split()
        if quota != "max":
            cores = min(cores, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):  # no cgroup v2 here: the affinity it is
        pass
    return cores
