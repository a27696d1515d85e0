"""Endpointing: where utterances start and end, with Riva's EndpointingConfig honoured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from riva.client.proto import riva_asr_pb2 as rasr

from services.asr.endpointing import FRAME_SAMPLES, TAIL_FLOOR, Endpointer, EndpointSettings, Event
from tests.asr.conftest import say


def _events(
    audio: np.ndarray, settings: EndpointSettings, endpointer: Endpointer | None = None
) -> list[tuple[int, Event]]:
    endpointer = endpointer or Endpointer(settings)
    out = []
    for i in range(len(audio) // FRAME_SAMPLES):
        event = endpointer.feed(audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
        if event is not None:
            out.append((i * 10, event))
    return out


class ScriptedEndpointer(Endpointer):
    """The endpointer with its VAD replaced by a script, for exact frame counts: a frame is speech
    when its samples are non-zero."""

    def is_speech(self, frame: np.ndarray, loudness: float) -> bool:
        return bool(frame.any())


def _script(pattern: str) -> np.ndarray:
    """One 10 ms frame per character: S speech, . silence."""
    return np.concatenate([np.full(FRAME_SAMPLES, 1000 if c == "S" else 0, dtype="<i2") for c in pattern])


def _scripted(pattern: str, settings: EndpointSettings) -> list[tuple[int, Event]]:
    return [(ms // 10, e) for ms, e in _events(_script(pattern), settings, ScriptedEndpointer(settings))]


PAUSES = EndpointSettings(phrase_pause_ms=120, closed_phrase_pause_ms=60)


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


def test_both_pauses_are_reported_then_the_stop_window_ends_it(spoken_dir: Path) -> None:
    audio = np.frombuffer(say("undo that", spoken_dir), dtype="<i2")
    events = _events(audio, PAUSES)
    kinds = [e for _, e in events]
    assert kinds == [Event.START, Event.SHORT_PAUSE, Event.PAUSE, Event.EOU, Event.END]
    short_ms, pause_ms, end_ms = events[1][0], events[2][0], events[-1][0]
    assert pause_ms - short_ms == 60  # one silence: 60 ms into it, then 120 ms into it
    assert end_ms - pause_ms >= 300  # the pause comes well before the 500 ms stop window closes
    assert [e for _, e in _events(audio, EndpointSettings(stop_history_ms=500))] == [Event.START, Event.EOU, Event.END]


def test_a_fading_last_vowel_is_not_speech(spoken_dir: Path) -> None:
    """espeak's en-us+f3 lets "... sixty" fade out over 100 ms and more that the VAD calls speech; the
    pause is counted from where the speech ends (its last sample above 5% of the peak), not the fade."""
    audio = np.frombuffer(say("change the price of product e fifteen to sixty", spoken_dir, "en-us+f3"), dtype="<i2")
    loud = np.abs(audio.astype(np.int32))
    speech_end_ms = (int(np.nonzero(loud > 0.05 * loud.max())[0][-1]) + 1) * 1000 // 16_000

    def pause_after_speech(tail_floor: float) -> int:
        endpointer = Endpointer(PAUSES)
        endpointer.tail_floor = tail_floor
        pause_ms = next(ms for ms, e in _events(audio, PAUSES, endpointer) if e is Event.PAUSE)
        return pause_ms + 10 - speech_end_ms  # the frame that reports it included

    assert pause_after_speech(0.0) >= PAUSES.phrase_pause_ms + 80  # the fade, without the floor
    assert pause_after_speech(TAIL_FLOOR) <= PAUSES.phrase_pause_ms + 30


def test_the_pauses_fall_on_their_silent_frames_once_each() -> None:
    # START once 10 of the 20 frames of the start window are speech (frame 19); silence from frame 30
    events = _scripted("S" * 30 + "." * 60, PAUSES)
    assert events == [
        (19, Event.START),
        (35, Event.SHORT_PAUSE),  # the 6th silent frame: 60 ms
        (41, Event.PAUSE),  # the 12th: 120 ms
        (52, Event.EOU),  # 23 of the 24 frames of the 240 ms EOU window
        (74, Event.END),  # 45 of the 50 frames of the 500 ms stop window
    ]


def test_speech_starts_the_pauses_over() -> None:
    # an 80 ms hesitation: longer than the short pause, shorter than the long one
    events = _scripted("S" * 30 + "." * 8 + "S" * 10 + "." * 60, PAUSES)
    assert [e for _, e in events if e is not Event.EOU] == [
        Event.START,
        Event.SHORT_PAUSE,  # in the hesitation (frame 35)
        Event.SHORT_PAUSE,  # after the last speech, counted afresh from it
        Event.PAUSE,
        Event.END,
    ]
    assert [f for f, e in events if e in (Event.SHORT_PAUSE, Event.PAUSE)] == [35, 53, 59]


@pytest.mark.parametrize(
    ("phrase_pause_ms", "closed_phrase_pause_ms", "expected"),
    [
        (120, 0, [Event.PAUSE]),  # closed phrases wait the long pause too
        (120, 120, [Event.PAUSE]),  # as long as the long one: the same moment, one event
        (0, 60, []),  # no phrase pause: no early end at all, closed phrases included
        (0, 0, []),
    ],
)
def test_a_short_pause_only_when_shorter_than_the_phrase_pause(
    phrase_pause_ms: int, closed_phrase_pause_ms: int, expected: list[Event]
) -> None:
    settings = EndpointSettings(phrase_pause_ms=phrase_pause_ms, closed_phrase_pause_ms=closed_phrase_pause_ms)
    events = _scripted("S" * 30 + "." * 60, settings)
    assert [e for _, e in events if e in (Event.SHORT_PAUSE, Event.PAUSE)] == expected


@pytest.mark.parametrize("pause", [Event.SHORT_PAUSE, Event.PAUSE])
def test_ending_at_a_pause_waits_for_speech_again(spoken_dir: Path, pause: Event) -> None:
    audio = np.frombuffer(say("undo that", spoken_dir) + say("yes confirm", spoken_dir), dtype="<i2")
    endpointer = Endpointer(PAUSES)
    kinds = []
    for i in range(len(audio) // FRAME_SAMPLES):
        event = endpointer.feed(audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
        if event is pause:
            endpointer.end_here()  # what the stream does when the words were a whole phrase of that kind
        if event is not None:
            kinds.append(event)
    before = [Event.SHORT_PAUSE] if pause is Event.PAUSE else []  # a short pause that did not end it
    assert kinds == [Event.START, *before, pause, Event.START, *before, pause]


def _starts_after_an_early_end(pattern: str, settings: EndpointSettings) -> list[bool]:
    """`continues` at each START, the stream ending each utterance early at its first PAUSE, as the
    ASR does, except a continuation: that one runs to its stop window."""
    endpointer = ScriptedEndpointer(settings)
    audio = _script(pattern)
    out = []
    for i in range(len(audio) // FRAME_SAMPLES):
        event = endpointer.feed(audio[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES])
        if event is Event.PAUSE and not endpointer.continues:
            endpointer.end_here(early=True)
        elif event is Event.START:
            out.append(endpointer.continues)
    return out


# stop window 300 ms at 0.9: it closes after 27 silent frames; the pause ends the utterance after 12
CALLER = EndpointSettings(stop_history_ms=300, stop_threshold=0.9, phrase_pause_ms=120, start_history_ms=100)


@pytest.mark.parametrize(
    ("gap_frames", "continues"),
    [
        (15, True),  # speech again 150 ms after it stopped: the caller's window would not have closed
        (25, True),
        (30, False),  # the window closed at 27 frames: a new utterance by the caller's own settings
        (60, False),
    ],
)
def test_speech_within_the_callers_stop_window_after_an_early_end_continues_that_utterance(
    gap_frames: int, continues: bool
) -> None:
    pattern = "S" * 40 + "." * gap_frames + "S" * 20 + "." * 60
    assert _starts_after_an_early_end(pattern, CALLER) == [False, continues]


def test_an_utterance_the_stop_window_ended_is_never_continued() -> None:
    settings = EndpointSettings(stop_history_ms=300, stop_threshold=0.9, start_history_ms=100)  # no pauses
    assert _starts_after_an_early_end("S" * 40 + "." * 30 + "S" * 20 + "." * 60, settings) == [False, False]
    # and after a continuation has run to its stop window, the next utterance is a new one
    pattern = "S" * 40 + "." * 15 + "S" * 20 + "." * 40 + "S" * 20 + "." * 40
    assert _starts_after_an_early_end(pattern, CALLER) == [False, True, False]
