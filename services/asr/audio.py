"""Audio as the recogniser needs it: validated 16-bit mono PCM, resampled to 16 kHz.

Every rule that can refuse audio lives here, each with a message that says what
was wrong and what is accepted, because the caller is usually another program
whose author reads it once, in a log.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from riva.client.proto import riva_audio_pb2

from shopvoice.errors import InvalidArgument

DECODER_RATE = 16_000
MIN_RATE, MAX_RATE = 8_000, 48_000


class AudioError(InvalidArgument):
    """Audio the service cannot take; becomes INVALID_ARGUMENT."""


@dataclass(frozen=True)
class AudioFormat:
    """What one stream or request promised to send."""

    sample_rate: int

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * 2

    def seconds(self, n_bytes: int) -> float:
        return n_bytes / self.bytes_per_second


def check_format(encoding: int, sample_rate: int, channels: int) -> AudioFormat:
    """LINEAR_PCM, 8-48 kHz, mono; anything else is refused before a byte is decoded."""
    if encoding != riva_audio_pb2.LINEAR_PCM:
        name = (
            riva_audio_pb2.AudioEncoding.Name(encoding)
            if encoding in riva_audio_pb2.AudioEncoding.values()
            else encoding
        )
        raise AudioError(f"encoding {name} is not supported; send LINEAR_PCM (16-bit signed little-endian)")
    if not MIN_RATE <= sample_rate <= MAX_RATE:
        raise AudioError(f"sample_rate_hertz {sample_rate} is out of range; send {MIN_RATE}-{MAX_RATE} Hz")
    if channels not in (0, 1):
        raise AudioError(f"audio_channel_count {channels} is not supported; send mono audio (1 channel)")
    return AudioFormat(sample_rate)


def check_chunk(chunk: bytes, max_bytes: int) -> None:
    """One message's audio: whole 16-bit samples, and not more than a message may carry."""
    if len(chunk) > max_bytes:
        raise AudioError(f"audio_content of {len(chunk)} bytes exceeds the {max_bytes}-byte limit; send smaller chunks")
    if len(chunk) % 2:
        raise AudioError(
            f"audio_content has an odd byte count ({len(chunk)}); 16-bit PCM comes in whole 2-byte samples"
        )


def rms(samples: np.ndarray) -> float:
    """Root-mean-square level of 16-bit samples (0 for none)."""
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if len(samples) else 0.0


def pcm16(chunk: bytes) -> np.ndarray:
    samples: np.ndarray = np.frombuffer(chunk, dtype="<i2")
    return samples


class Resampler:
    """Streaming resampler to 16 kHz: low-pass FIR when downsampling, then linear interpolation.

    State (filter history, fractional position) carries across chunks, so chunk
    boundaries leave no clicks and any chunking gives the same samples.
    """

    TAPS = 63

    def __init__(self, rate_in: int, rate_out: int = DECODER_RATE) -> None:
        self.identity = rate_in == rate_out
        self.step = rate_in / rate_out
        self.pos = 0.0
        self.prev = 0.0
        if rate_in > rate_out:
            cutoff = 0.45 * rate_out / rate_in
            n = np.arange(self.TAPS) - (self.TAPS - 1) / 2
            self.fir: np.ndarray | None = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(self.TAPS)
            self.fir = self.fir / self.fir.sum()
            self.history = np.zeros(self.TAPS - 1)
        else:
            self.fir = None

    def process(self, samples: np.ndarray) -> np.ndarray:
        if self.identity:
            return samples.astype("<i2", copy=False)
        x = samples.astype(np.float64)
        if self.fir is not None:
            padded = np.concatenate([self.history, x])
            self.history = padded[-(self.TAPS - 1) :]
            x = np.convolve(padded, self.fir, mode="valid")
        buf = np.concatenate([[self.prev], x])
        last = len(buf) - 1
        positions = np.arange(self.pos, last, self.step)
        out = np.interp(positions, np.arange(len(buf)), buf)
        self.pos = (positions[-1] + self.step - last) if len(positions) else self.pos - last
        self.prev = buf[-1]
        resampled: np.ndarray = np.clip(np.round(out), -32768, 32767).astype("<i2")
        return resampled
