"""Audio rules and resampling, as the boundary applies them."""

from __future__ import annotations

import numpy as np
import pytest
from riva.client.proto import riva_audio_pb2

from services.asr.audio import AudioError, Resampler, check_chunk, check_format


def test_linear_pcm_mono_in_range_is_accepted() -> None:
    assert check_format(riva_audio_pb2.LINEAR_PCM, 44_100, 1).sample_rate == 44_100
    assert check_format(riva_audio_pb2.LINEAR_PCM, 8_000, 0).bytes_per_second == 16_000


@pytest.mark.parametrize(
    ("encoding", "rate", "channels", "message"),
    [
        (riva_audio_pb2.FLAC, 16_000, 1, "encoding FLAC is not supported; send LINEAR_PCM"),
        (riva_audio_pb2.MULAW, 8_000, 1, "encoding MULAW is not supported"),
        (riva_audio_pb2.LINEAR_PCM, 4_000, 1, "sample_rate_hertz 4000 is out of range; send 8000-48000 Hz"),
        (riva_audio_pb2.LINEAR_PCM, 96_000, 1, "sample_rate_hertz 96000 is out of range"),
        (riva_audio_pb2.LINEAR_PCM, 16_000, 2, "audio_channel_count 2 is not supported; send mono"),
    ],
)
def test_unsupported_formats_are_refused_with_what_to_send(
    encoding: int, rate: int, channels: int, message: str
) -> None:
    with pytest.raises(AudioError, match=message):
        check_format(encoding, rate, channels)


def test_chunks_must_be_whole_samples_and_bounded() -> None:
    check_chunk(b"\0" * 3200, 3200)
    with pytest.raises(AudioError, match="odd byte count"):
        check_chunk(b"\0" * 3201, 10_000)
    with pytest.raises(AudioError, match="exceeds the 3200-byte limit"):
        check_chunk(b"\0" * 3202, 3200)


def _tone(rate: int, seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (8000 * np.sin(2 * np.pi * hz * t)).astype("<i2")


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_resampling_keeps_duration_and_pitch_across_any_chunking(rate: int) -> None:
    tone = _tone(rate, 1.0, 440.0)
    whole = Resampler(rate).process(tone)
    r = Resampler(rate)
    pieces = np.concatenate([r.process(tone[i : i + 777]) for i in range(0, len(tone), 777)])
    assert abs(len(whole) - 16_000) <= 2
    assert abs(len(pieces) - len(whole)) <= 1
    n = min(len(whole), len(pieces))
    assert np.max(np.abs(whole[:n].astype(int) - pieces[:n].astype(int))) <= 2  # chunking changes nothing
    spectrum = np.abs(np.fft.rfft(whole[2000:14000]))
    peak_hz = np.argmax(spectrum) * 16_000 / 12_000
    assert abs(peak_hz - 440) < 5


def test_downsampling_removes_what_16k_cannot_carry() -> None:
    high = _tone(48_000, 0.5, 12_000.0)  # above the 8 kHz Nyquist limit of 16 kHz audio
    out = Resampler(48_000).process(high)
    assert np.sqrt(np.mean(out[100:].astype(float) ** 2)) < 0.05 * 8000 / np.sqrt(2)
