"""Where an utterance starts and ends, with Riva's EndpointingConfig semantics.

Each 10 ms frame is classified speech or not (WebRTC-style VAD from pocketsphinx,
plus an energy floor so near-silent noise never counts). Within an utterance a frame
also needs to be within `tail_floor` of the utterance's loudest frame so far: the VAD
goes on calling a vowel that fades out, or the room's echo of it, speech for 100 ms
and more after the words end (espeak's "... sixty": 120 ms over the absolute floor),
and every pause below is counted from the end of speech. An utterance starts when
start_threshold of the frames in the last start_history ms are speech, and ends
when stop_threshold of the frames in the last stop_history ms are not. The
stop_history_eou window is a shorter, earlier "probably done" signal that the
stream turns into a stable interim result. Zero fields take the defaults below.

Two additions, set by the server rather than the caller: after a pause of
closed_phrase_pause_ms the endpointer reports SHORT_PAUSE, and after
phrase_pause_ms it reports PAUSE, each once per run of silence. The stream ends the
utterance at SHORT_PAUSE if the words so far are a whole phrase of the grammar that
no word may continue ("... fifty dollars"), at PAUSE if they are a whole phrase at
all ("... ninety", which "nine" could still follow; phrase_end.py); otherwise the
caller's stop window runs its course. The stop window stays the longest wait, so a
caller's EndpointingConfig is never made slower. After such an early end the stop window
goes on counting, and speech that starts before it closes is marked `continues`: by the
caller's settings it is the end of the same utterance (the stream does not send it).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

import numpy as np
from pocketsphinx import Vad  # type: ignore[import-untyped]

from services.asr.audio import rms

FRAME_MS = 10
FRAME_SAMPLES = 160  # at 16 kHz
MIN_RMS = 60.0  # about -55 dBFS: quieter frames are never speech
# 34 dB under the utterance's loudest frame so far: a fading tail, not a word. On the bench's espeak
# set it never ends speech before its last sample above 5% of the peak (at 4% of the loudest, weak
# final consonants "... off" / "... refunded" fell under it). For quiet recordings only: raw noise at
# 20 dB SNR sits above it anyway, and noise-gated audio must not use it (see Endpointer.tail_floor).
TAIL_FLOOR = 0.02


@dataclass(frozen=True)
class EndpointSettings:
    start_history_ms: int = 200
    start_threshold: float = 0.5
    stop_history_ms: int = 500
    stop_threshold: float = 0.9
    stop_history_eou_ms: int = 240
    stop_threshold_eou: float = 0.95
    phrase_pause_ms: int = 0  # 0: no PAUSE events, and no SHORT_PAUSE events either
    closed_phrase_pause_ms: int = 0  # SHORT_PAUSE, when shorter than phrase_pause_ms (0: none)
    # After an early end, speech resuming later than this is a new utterance even inside the caller's
    # stop window: commands read one after another with 1 s gaps and --stop-history 2000 are three.
    continuation_max_ms: int = 500

    @classmethod
    def from_riva(
        cls, config: object, phrase_pause_ms: int = 0, closed_phrase_pause_ms: int = 0, continuation_max_ms: int = 500
    ) -> EndpointSettings:
        """Honour every field the client set; a zero or absent field keeps the default."""
        d = cls()

        def get(name: str, default: float) -> float:
            value: float = getattr(config, name, 0) or default
            return value

        settings = cls(
            start_history_ms=int(get("start_history", d.start_history_ms)),
            start_threshold=float(get("start_threshold", d.start_threshold)),
            stop_history_ms=int(get("stop_history", d.stop_history_ms)),
            stop_threshold=float(get("stop_threshold", d.stop_threshold)),
            stop_history_eou_ms=int(get("stop_history_eou", d.stop_history_eou_ms)),
            stop_threshold_eou=float(get("stop_threshold_eou", d.stop_threshold_eou)),
            phrase_pause_ms=phrase_pause_ms,
            closed_phrase_pause_ms=closed_phrase_pause_ms,
            continuation_max_ms=continuation_max_ms,
        )
        for name in ("start_threshold", "stop_threshold", "stop_threshold_eou"):
            if not 0 < getattr(settings, name) <= 1:
                raise ValueError(f"endpointing_config.{name} must be in (0, 1]")
        for name in ("start_history_ms", "stop_history_ms", "stop_history_eou_ms"):
            if not FRAME_MS <= getattr(settings, name) <= 10_000:
                raise ValueError(f"endpointing_config.{name.removesuffix('_ms')} must be 10-10000 ms")
        return settings


class Event(Enum):
    START = "start"  # speech began; the frames of the start window belong to the utterance
    EOU = "eou"  # the short end-of-utterance window fired: likely done
    SHORT_PAUSE = "short_pause"  # closed_phrase_pause_ms of silence: the end, if the words are a closed phrase
    PAUSE = "pause"  # phrase_pause_ms of silence: the end, if the words so far are a whole phrase
    END = "end"  # the utterance is over


class Endpointer:
    """Feeds on 16 kHz frames, reports START / EOU / SHORT_PAUSE / PAUSE / END per frame."""

    def __init__(self, settings: EndpointSettings) -> None:
        self.settings = settings
        # The caller sets 0 when it feeds noise-gated audio: the gate takes weak speech (the f of
        # "forty", a word's fading end) down with the noise, so under the floor it would be a pause
        # ("one hundred | forty five" ended at "one hundred" at 20 dB SNR on the development seed).
        self.tail_floor = TAIL_FLOOR
        self.vad = Vad(Vad.LOOSE, 16_000, FRAME_MS / 1000)
        self.start_window: deque[bool] = deque(maxlen=max(1, settings.start_history_ms // FRAME_MS))
        self.stop_window: deque[bool] = deque(maxlen=max(1, settings.stop_history_ms // FRAME_MS))
        self.eou_window: deque[bool] = deque(maxlen=max(1, settings.stop_history_eou_ms // FRAME_MS))
        self.pause_frames = settings.phrase_pause_ms // FRAME_MS
        # A short pause as long as the long one would be the same event: PAUSE alone then.
        short = settings.closed_phrase_pause_ms // FRAME_MS
        self.short_pause_frames = short if 0 < short < self.pause_frames else 0
        self.in_speech = False
        self.eou_sent = False
        self.start_rms: deque[float] = deque(maxlen=self.start_window.maxlen)  # the start window's loudness
        self.loudest = 0.0  # the current utterance's loudest frame (rms), its start window included
        self.silent_run = 0  # non-speech frames since the last speech frame, within an utterance
        # After an end at a pause, the caller's stop window goes on counting: until it would have
        # closed the utterance too, speech that starts again is the same utterance by the caller's
        # own EndpointingConfig (see `continues`).
        self.early_end_unsettled = False
        self.since_early_end = 0  # frames since an early end
        self.continues = False  # set at START: this utterance resumed one that ended at a pause too soon

    def is_speech(self, frame: np.ndarray, loudness: float) -> bool:
        """The VAD's call over the absolute floor; `loudness` is the frame's rms."""
        if loudness < MIN_RMS:
            return False
        return bool(self.vad.is_speech(frame.tobytes()))

    def feed(self, frame: np.ndarray) -> Event | None:
        loudness = rms(frame)
        speech = self.is_speech(frame, loudness)
        s = self.settings
        if not self.in_speech:
            if self.early_end_unsettled:
                self.stop_window.append(not speech)
                self.since_early_end += 1
                self.early_end_unsettled = not self._stop_window_closes() and (
                    self.since_early_end * FRAME_MS <= s.continuation_max_ms
                )
            self.start_window.append(speech)
            self.start_rms.append(loudness)
            full = len(self.start_window) == self.start_window.maxlen
            if full and sum(self.start_window) >= s.start_threshold * len(self.start_window):
                self.in_speech, self.eou_sent = True, False
                self.continues, self.early_end_unsettled = self.early_end_unsettled, False
                self.stop_window.clear()
                self.eou_window.clear()
                self.silent_run = 0
                self.loudest = max(self.start_rms)
                return Event.START
            return None
        self.loudest = max(self.loudest, loudness)
        speech = speech and loudness >= self.tail_floor * self.loudest
        self.stop_window.append(not speech)
        self.eou_window.append(not speech)
        self.silent_run = 0 if speech else self.silent_run + 1
        if self._stop_window_closes():
            self.end_here()
            return Event.END
        if self.short_pause_frames and self.silent_run == self.short_pause_frames:
            return Event.SHORT_PAUSE
        if self.pause_frames and self.silent_run == self.pause_frames:
            return Event.PAUSE
        if (
            not self.eou_sent
            and len(self.eou_window) == self.eou_window.maxlen
            and sum(self.eou_window) >= s.stop_threshold_eou * len(self.eou_window)
        ):
            self.eou_sent = True
            return Event.EOU
        if speech:
            self.eou_sent = False
        return None

    def _stop_window_closes(self) -> bool:
        window = self.stop_window
        return len(window) == window.maxlen and sum(window) >= self.settings.stop_threshold * len(window)

    def end_here(self, early: bool = False) -> None:
        """The utterance ended (at END, or, `early`, at a pause after a whole phrase): wait for speech again."""
        self.in_speech = False
        self.start_window.clear()
        self.start_rms.clear()
        self.early_end_unsettled = early
        self.since_early_end = 0

    @property
    def start_frames(self) -> int:
        """How many frames before START belong to the utterance (the start window)."""
        return len(self.start_window)
