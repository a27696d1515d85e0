"""A decoding process's DecoderHost, called in this process: what its pause checks decide on real speech.

The server's endpointer finds the pauses on the same audio (tests/asr/support.endpoint_events)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from services.asr import testset
from services.asr.endpointing import FRAME_SAMPLES, Event
from services.asr.engines import sphinx
from services.asr.phrase_end import PhraseEnds
from tests.asr.support import decoding_options, endpoint_events


@pytest.fixture(scope="module")
def host() -> Iterator[sphinx.DecoderHost]:
    yield sphinx.DecoderHost(decoding_options())


def _pieces(samples: np.ndarray) -> dict[Event, np.ndarray]:
    """The audio up to START, then from there to the first SHORT_PAUSE, and on to the PAUSE after it
    (the server's pauses, 120 and 60 ms, and a stop window of 800 ms)."""
    cuts: dict[Event, int] = {}
    for frames, event in endpoint_events(samples.tobytes(), 800):
        if event in (Event.START, Event.SHORT_PAUSE, Event.PAUSE):
            cuts.setdefault(event, frames * FRAME_SAMPLES)
    assert list(cuts) == [Event.START, Event.SHORT_PAUSE, Event.PAUSE], cuts
    start, short, long = cuts.values()
    return {Event.START: samples[:start], Event.SHORT_PAUSE: samples[start:short], Event.PAUSE: samples[short:long]}


def _status(text: str | None, host: sphinx.DecoderHost) -> str:
    return PhraseEnds(host.model.grammar).status((text or "").split())


def test_a_whole_phrase_at_the_short_pause_ends_at_the_long_one_though_the_partial_drifted(
    host: sphinx.DecoderHost, tmp_path: Path
) -> None:
    # espeak's Caribbean voice, fast: after 60 ms of silence the partial hypothesis is "yes" (open: "yes
    # confirm" may follow); 60 ms later, over nothing but silence, the best path into any state is
    # "eighty eight". Checked on its own, the long pause found no whole phrase, and "yes" waited for the
    # caller's stop window (800 ms here, 240 in the bench: a final ~110 ms later than it had to be).
    pieces = _pieces(testset.speak("yes", "en-029", 190, 40, tmp_path))
    host.start(1, sphinx.GRAMMAR_MODEL, 0)
    try:
        host.feed(1, pieces[Event.START].tobytes(), False)
        assert host.end(1, pieces[Event.SHORT_PAUSE].tobytes(), "closed") is None  # open: not at the short pause
        drifted = host.feed(1, pieces[Event.PAUSE].tobytes(), True)
        assert _status(drifted, host) == "incomplete", drifted  # what the check at the long pause sees
        transcript = host.end(1, b"", "complete")
        assert transcript is not None
        assert transcript.text == "yes", (transcript.rejected, transcript.score_gap)
    finally:
        host.close(1)


def test_a_pause_inside_a_phrase_still_waits(host: sphinx.DecoderHost, tmp_path: Path) -> None:
    # "... to" and 200 ms of silence: no whole phrase at either pause, so no end before the stop window
    pieces = _pieces(testset.speak("set the price of product a one hundred to", "en-us", 160, 50, tmp_path))
    host.start(2, sphinx.GRAMMAR_MODEL, 0)
    try:
        host.feed(2, pieces[Event.START].tobytes(), False)
        assert host.end(2, pieces[Event.SHORT_PAUSE].tobytes(), "closed") is None
        assert host.end(2, pieces[Event.PAUSE].tobytes(), "complete") is None
    finally:
        host.close(2)


def test_a_quiet_high_voice_is_no_tone_and_a_tone_still_is(spoken_dir: Path) -> None:
    """tonality() judges the audio as it came, not with our comfort noise in its pauses: pink noise
    holds its power in the lowest bins, and filling half of a quiet, high voice's frames it made
    espeak's en-us+f3 "is c seven in stock" a tone (0.66), so a right command came back empty."""
    from services.asr import grammar
    from services.asr.vocabulary import DEMO_VOCABULARY

    heard = grammar.heard_vocabulary(DEMO_VOCABULARY, grammar.NAMES)
    host = sphinx.DecoderHost(decoding_options(vocabulary=heard, use_nlu_phrases=True, reject=True))
    voice = testset.speak("is c seven in stock", "en-us+f3", 160, 50, spoken_dir).tobytes()
    tone = (3000 * np.sin(2 * np.pi * 440 * np.arange(32_000) / 16_000)).astype("<i2").tobytes()
    heard_texts = []
    for audio in (voice + b"\0\0" * 8000, tone):
        host.start(1, sphinx.GRAMMAR_MODEL, 0)
        transcript = host.end(1, audio, None, b"")
        host.close(1)
        assert transcript is not None
        heard_texts.append(transcript.text)
    assert heard_texts == ["is c seven in stock", ""]
