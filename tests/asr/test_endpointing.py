"""Endpointing: where utterances start and end, with Riva's EndpointingConfig honoured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from riva.client.proto import riva_asr_pb2 as rasr

from services.asr.endpointing import FRAME_SAMPLES, Endpointer, EndpointSettings, Event
from tests.asr.conftest import say


def _events(audio: np.ndarray, settings: EndpointSettings) -> list[tuple[int, Event]]:
    endpointer = Endpointer(settings)
    out = []
    for i in range(len(audio) // FRAME_SAMPLES):
        event = endpointer.feed(audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
        if event is not None:
            out.append((i * 10, event))
    return out


def test_unset_fields_keep_defaults_and_set_fields_are_honoured() -> None:
    assert EndpointSettings.from_riva(rasr.EndpointingConfig()) == EndpointSettings()
    s = EndpointSettings.from_riva(rasr.EndpointingConfig(stop_history=800, start_threshold=0.3))
    assert (s.stop_history_ms, s.start_threshold, s.start_history_ms) == (800, pytest.approx(0.3), 200)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (rasr.EndpointingConfig(stop_threshold=1.5), "stop_threshold must be in"),
        (rasr.EndpointingConfig(stop_history=20_000), "stop_history must be 10-10000 ms"),
        (rasr.EndpointingConfig(start_history=-5), "start_history must be 10-10000 ms"),
    ],
)
def test_out_of_range_endpointing_is_refused(config: rasr.EndpointingConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EndpointSettings.from_riva(config)


def test_one_command_is_one_utterance_from_speech_start_to_its_end(spoken_dir: Path) -> None:
    audio = np.frombuffer(say("show product a one hundred", spoken_dir), dtype="<i2")
    events = _events(audio, EndpointSettings())
    kinds = [e for _, e in events]
    assert kinds[0] is Event.START and kinds[-1] is Event.END and kinds.count(Event.START) == 1
    start_ms, end_ms = events[0][0], events[-1][0]
    speech_end_ms = len(audio) / 16 - 800  # the 0.8 s of padding after the speech
    assert 300 <= start_ms <= 600  # 0.3 s of leading silence, plus the start window
    assert speech_end_ms < end_ms <= speech_end_ms + 700  # the 500 ms stop window, plus a word's tail


def test_a_longer_stop_history_ends_later(spoken_dir: Path) -> None:
    audio = np.frombuffer(say("yes confirm", spoken_dir) + b"\0" * 32_000, dtype="<i2")
    short = [t for t, e in _events(audio, EndpointSettings(stop_history_ms=300)) if e is Event.END]
    long = [t for t, e in _events(audio, EndpointSettings(stop_history_ms=1200)) if e is Event.END]
    assert len(short) == len(long) == 1
    assert long[0] - short[0] >= 800


def test_silence_and_faint_noise_never_start_an_utterance() -> None:
    rng = np.random.default_rng(1)
    faint = rng.normal(0, 20, 16_000 * 3).astype("<i2")  # about -64 dBFS
    assert _events(np.zeros(16_000 * 3, dtype="<i2"), EndpointSettings()) == []
    assert _events(faint, EndpointSettings()) == []


def test_a_pause_is_reported_after_phrase_pause_ms_then_the_stop_window_ends_it(spoken_dir: Path) -> None:
    audio = np.frombuffer(say("undo that", spoken_dir), dtype="<i2")
    events = _events(audio, EndpointSettings(stop_history_ms=500, phrase_pause_ms=120))
    kinds = [e for _, e in events]
    assert kinds == [Event.START, Event.PAUSE, Event.EOU, Event.END]
    pause_ms, end_ms = events[1][0], events[-1][0]
    assert end_ms - pause_ms >= 300  # the pause comes well before the 500 ms stop window closes
    assert [e for _, e in _events(audio, EndpointSettings(stop_history_ms=500))] == [Event.START, Event.EOU, Event.END]


def test_ending_at_a_pause_waits_for_speech_again(spoken_dir: Path) -> None:
    audio = np.frombuffer(say("undo that", spoken_dir) + say("yes confirm", spoken_dir), dtype="<i2")
    endpointer = Endpointer(EndpointSettings(phrase_pause_ms=120))
    kinds = []
    for i in range(len(audio) // FRAME_SAMPLES):
        event = endpointer.feed(audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
        if event is Event.PAUSE:
            endpointer.end_here()  # what the stream does when the words were a whole phrase
        if event is not None:
            kinds.append(event)
    assert kinds == [Event.START, Event.PAUSE, Event.START, Event.PAUSE]
