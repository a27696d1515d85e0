"""The spectral gate: steady noise out, speech kept, samples where they were, quiet streams untouched."""

from __future__ import annotations

import numpy as np
import pytest

from services.asr import testset
from services.asr.denoise import SpectralGate
from services.asr.endpointing import MIN_RMS


def run(gate: SpectralGate, samples: np.ndarray, chunk: int) -> np.ndarray:
    """The whole stream through the gate in chunks of this many samples, flushed."""
    pieces = [gate.process(samples[i : i + chunk]) for i in range(0, len(samples), chunk)]
    return np.concatenate([*pieces, gate.flush()]).astype(np.float64)


def power_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2) + 1e-9))


@pytest.fixture(scope="module")
def spoken() -> testset.Spoken:
    return testset.build(1, seed=7)[0]


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return testset.pink_noise(10)


@pytest.mark.parametrize("chunk", [1, 160, 1600, 48_000])
def test_with_nothing_removed_every_sample_comes_back_where_it_was(chunk: int) -> None:
    """The STFT, the lag and the flush are exact: a gate that removes nothing is the identity,
    whatever the message size (a sample late or lost would shift every word time)."""
    audio = np.random.default_rng(1).normal(0, 3000, 20_000).astype("<i2")
    out = run(SpectralGate(prop_decrease=0.0), audio, chunk)
    assert len(out) == len(audio)
    assert np.abs(out - audio).max() <= 1


def test_steady_noise_goes_and_the_speech_stays(spoken: testset.Spoken, noise: np.ndarray) -> None:
    clean = spoken.samples.astype(np.float64)
    noisy = np.frombuffer(spoken.with_noise(10.0, noise), dtype="<i2")
    out = run(SpectralGate(), noisy, 1600)
    assert len(out) == len(noisy)
    # the last 0.5 s are the padding after the command: noise only
    pause = slice(len(clean) - 8000, None)
    assert power_db(out[pause]) < power_db(noisy[pause]) - 15
    # against the clean command, what the gate leaves is much closer than what it got
    before, after = power_db(noisy - clean), power_db(out - clean)
    assert after < before - 2, (before, after)  # 3.3 dB when written
    # the speech is not gated away with the noise: most of it is still there (0.62 when written;
    # gating everything would leave 1 - prop_decrease = 0.1)
    assert np.dot(out, clean) / np.dot(clean, clean) > 0.5


def test_chunking_does_not_change_what_is_heard(spoken: testset.Spoken, noise: np.ndarray) -> None:
    """The profile learns per message, so message sizes may differ in a rounding, not in the result."""
    noisy = np.frombuffer(spoken.with_noise(20.0, noise), dtype="<i2")
    small, large = run(SpectralGate(), noisy, 320), run(SpectralGate(), noisy, 16_000)
    assert power_db(small - large) < power_db(small) - 30


def test_a_profile_begun_on_speech_corrects_itself_in_the_next_pause(spoken: testset.Spoken, noise: np.ndarray) -> None:
    """A speaker who starts at once gives the gate speech for a noise profile; the pause after
    the command teaches it the real noise."""
    start = int(np.argmax(np.abs(spoken.samples) > 0.05 * np.abs(spoken.samples).max()))
    noisy = np.frombuffer(spoken.with_noise(10.0, noise), dtype="<i2")[start:]
    extra = noise[: 3 * testset.RATE] * (np.std(noisy[-4000:]) / np.std(noise[: 3 * testset.RATE]))
    stream = np.concatenate([noisy, extra]).astype("<i2")  # 3 s more of the same noise after the command
    out = run(SpectralGate(), stream, 1600)
    last = slice(len(stream) - testset.RATE, None)
    assert power_db(out[last]) < power_db(stream[last]) - 15


def test_a_stream_that_opens_with_speech_keeps_its_speech(spoken: testset.Spoken) -> None:
    """A recording cut at the first word gave the gate speech for its first noise profile, and the
    gate took two thirds of the command away with it. An opening that is not steady is not taken
    for the background: the gate passes the audio until it hears a steady stretch under it."""
    at_once = spoken.with_lead(0).samples
    out = run(SpectralGate(quiet_rms=MIN_RMS), at_once, 1600)
    clean = at_once.astype(np.float64)
    assert np.dot(out, clean) / np.dot(clean, clean) > 0.8  # 0.34 when the opening made the profile


def test_noise_under_a_command_that_opens_at_once_still_goes(spoken: testset.Spoken, noise: np.ndarray) -> None:
    at_once = spoken.with_lead(0)
    noisy = np.frombuffer(at_once.with_noise(10.0, noise), dtype="<i2")
    out = run(SpectralGate(quiet_rms=MIN_RMS), noisy, 1600)
    pause = slice(len(noisy) - 8000, None)
    assert power_db(out[pause]) < power_db(noisy[pause]) - 15
    clean = at_once.samples.astype(np.float64)
    assert np.dot(out, clean) / np.dot(clean, clean) > 0.7  # 0.56 when the opening made the profile


def test_a_quiet_stream_passes_through_untouched_and_without_lag(spoken: testset.Spoken) -> None:
    gate = SpectralGate(quiet_rms=60.0)
    audio = spoken.samples  # digital silence, then the command: nothing to take out
    first = gate.process(audio[:3000])
    assert gate.mode == "passing"
    assert np.array_equal(first, audio[:3000])  # what was held while deciding comes out at once
    assert np.array_equal(gate.process(audio[3000:4600]), audio[3000:4600])  # then as it comes
    assert len(gate.flush()) == 0


def test_a_noisy_stream_is_gated_even_with_a_quiet_floor_set(spoken: testset.Spoken, noise: np.ndarray) -> None:
    gate = SpectralGate(quiet_rms=60.0)
    noisy = np.frombuffer(spoken.with_noise(20.0, noise), dtype="<i2")
    assert len(gate.process(noisy[:1000])) == 0  # deciding: the first frames are not all in
    out = np.concatenate([gate.process(noisy[1000:]), gate.flush()])
    assert gate.mode == "gating"
    assert len(out) == len(noisy)


@pytest.mark.parametrize("samples", [0, 100])
def test_a_stream_too_short_to_decide_on_comes_back_whole(samples: int) -> None:
    """Ended before its first frames were in (an empty stream, a click): flush still decides."""
    gate = SpectralGate(quiet_rms=60.0)
    audio = np.full(samples, 5, dtype="<i2")
    out = np.concatenate([gate.process(audio), gate.flush()])
    assert np.array_equal(out, audio)
