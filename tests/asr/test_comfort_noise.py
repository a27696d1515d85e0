"""Comfort noise: a floor under quiet speakers, a level that follows loud ones, and the samples kept."""

from __future__ import annotations

import numpy as np
import pytest

from services.asr.audio import rms
from services.asr.comfort_noise import BLOCK, ComfortNoise, pink_noise

UNIT = pink_noise(2.0)


def pcm(samples: np.ndarray) -> bytes:
    return np.asarray(samples).astype("<i2").tobytes()


def added(before: bytes, after: bytes) -> np.ndarray:
    return np.frombuffer(after, dtype="<i2").astype(np.float64) - np.frombuffer(before, dtype="<i2")


def tone(amplitude: float, seconds: float) -> np.ndarray:
    t = np.arange(int(16_000 * seconds)) / 16_000
    return amplitude * np.sin(2 * np.pi * 440 * t)


def test_the_noise_has_unit_rms_and_is_the_same_every_time() -> None:
    assert rms(UNIT) == pytest.approx(1.0, rel=1e-3)
    assert np.array_equal(pink_noise(2.0), UNIT)


def test_silence_gets_the_floor() -> None:
    comfort = ComfortNoise(UNIT, floor_rms=100.0, below_db=32.0)
    silence = pcm(np.zeros(16_000))
    assert np.abs(added(silence, comfort.add(silence)) - 100.0 * UNIT[:16_000]).max() <= 1  # int16 rounding


def test_the_level_follows_a_loud_speaker_and_stays() -> None:
    """32 dB under a tone of rms 7071 is rms 177 (over digital silence: nothing of it is there yet);
    the quiet audio after it keeps that level, and the noise runs on where it left off."""
    comfort = ComfortNoise(UNIT, floor_rms=100.0, below_db=32.0)
    loud = pcm(np.concatenate([np.zeros(BLOCK), tone(10_000, 0.5)]))
    noise_under_loud = added(loud, comfort.add(loud))
    expected = 10_000 / np.sqrt(2) * 10 ** (-32 / 20)
    assert comfort.level == pytest.approx(expected, rel=0.01)
    n = len(noise_under_loud)
    assert np.abs(noise_under_loud - comfort.level * UNIT[:n]).max() <= 1  # the chunk's own speech set it
    silence = pcm(np.zeros(8_000))
    assert np.abs(added(silence, comfort.add(silence)) - comfort.level * UNIT[n : n + 8_000]).max() <= 1


@pytest.mark.parametrize(
    ("background_rms", "expected_rms"),
    [
        (300.0, 100.0),  # a room already louder than 177: only the floor
        (100.0, float(np.sqrt(177.0**2 - 100.0**2))),  # topped up to 177 in power
    ],
)
def test_a_stream_with_its_own_background_is_topped_up_to_the_level_not_covered(
    background_rms: float, expected_rms: float
) -> None:
    comfort = ComfortNoise(UNIT, floor_rms=100.0, below_db=32.0)
    background = tone(background_rms * np.sqrt(2), 0.25)  # steady: every block has this rms
    comfort.add(pcm(np.concatenate([background, tone(10_000, 0.5)])))
    assert comfort.level == pytest.approx(expected_rms, rel=0.02)


def test_a_quiet_speaker_keeps_the_floor() -> None:
    comfort = ComfortNoise(UNIT, floor_rms=100.0, below_db=32.0)
    comfort.add(pcm(tone(1_000, 0.5)))  # 32 dB under rms 707 is 18: under the floor
    assert comfort.level == 100.0


def test_below_db_zero_is_a_fixed_level() -> None:
    comfort = ComfortNoise(UNIT, floor_rms=100.0, below_db=0.0)
    comfort.add(pcm(tone(30_000, 0.5)))
    assert comfort.level == 100.0


def test_only_whole_blocks_are_measured_and_chunking_only_moves_when_the_level_rises() -> None:
    """A chunk shorter than a block is not measured (it still gets noise); the noise itself runs on
    without a seam, so the same stream in other chunks differs only while the level was rising."""
    comfort = ComfortNoise(UNIT, floor_rms=100.0, below_db=32.0)
    short = pcm(tone(10_000, (BLOCK - 1) / 16_000))
    comfort.add(short)
    assert comfort.level == 100.0
    silence = np.zeros(16_000)
    whole = ComfortNoise(UNIT, 100.0, 32.0).add(pcm(silence))
    chunked = ComfortNoise(UNIT, 100.0, 32.0)
    pieces = b"".join(chunked.add(pcm(silence[i : i + 1000])) for i in range(0, len(silence), 1000))
    assert pieces == whole


def test_loud_audio_is_clipped_not_wrapped() -> None:
    comfort = ComfortNoise(UNIT, floor_rms=3000.0, below_db=0.0)
    out = np.frombuffer(comfort.add(pcm(np.full(4000, 32_767))), dtype="<i2")
    assert out.min() > 0  # 32767 + noise would wrap to negative in int16
    assert comfort.add(b"") == b""
