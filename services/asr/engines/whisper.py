"""The open-vocabulary engine: whisper-base (CTranslate2, faster-whisper) for speech the grammar rejects.

It runs in the decoder pool's fallback process (decoder_pool.py), one utterance at a
time, so a 1 s decode never holds up a grammar stream. The model is the pinned
whisper-base of `make models` (shopvoice.weights: located and verified before it is
loaded), or the operator's own (WHISPER_MODEL_PATH). Without it the ASR is
grammar-only and says so in its start-up log (`open_vocabulary_path`).

Decoding settings from measurement here (shared/notes/speech.md): greedy (beam 1),
temperature 0, no timestamps, no conditioning on earlier text and at most 48 new
tokens; with the defaults, short robotic clips fell into repetition loops that took
14-40 s. It is primed with the catalog's words (sphinx.open_vocabulary_prompt).
What whisper itself thinks is no speech, or says with a very low likelihood, is
dropped: on noise it otherwise writes "Thank you." and the like.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from shopvoice import log

OPEN_VOCABULARY_MODEL = "whisper-base"
MAX_NEW_TOKENS = 48
# A segment whisper gives a no-speech probability over this, or an average token log-probability
# under MIN_AVG_LOGPROB, is not text: noise, tones, a language it cannot write down well.
MAX_NO_SPEECH_PROB = 0.6
MIN_AVG_LOGPROB = -1.0
# Its finals' confidence is capped here: over it, a final is the grammar's (the read-back acts at once
# only on the grammar's sure results).
MAX_CONFIDENCE = 0.5

_model: Any = None


def open_vocabulary_path() -> str:
    """Where the whisper model is ("" when it is not installed: grammar-only, logged once)."""
    from shopvoice.weights import artifacts, check

    try:
        return str(check.locate(artifacts.WHISPER))
    except check.WeightsError as exc:
        log.get().warning("open-vocabulary engine off: the ASR is grammar-only", reason=str(exc))
        return ""


def available() -> bool:
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        return False
    return True


def load(path: str, threads: int) -> None:
    """Load the model into this process (the fallback process's initializer calls it)."""
    global _model
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    _model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=threads, num_workers=1)


def transcribe(audio: bytes, language: str, prompt: str) -> tuple[str, float]:
    """16 kHz 16-bit PCM to (text, confidence); ("", 0) when it holds no words whisper stands by."""
    assert _model is not None, "load() has not run in this process"
    samples = np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768.0
    segments, _info = _model.transcribe(
        samples,
        language=language.split("-")[0].lower() or "en",
        beam_size=1,
        temperature=0.0,
        condition_on_previous_text=False,
        without_timestamps=True,
        max_new_tokens=MAX_NEW_TOKENS,
        initial_prompt=prompt or None,
        vad_filter=False,
    )
    texts, logprobs = [], []
    for segment in segments:
        if segment.no_speech_prob > MAX_NO_SPEECH_PROB or segment.avg_logprob < MIN_AVG_LOGPROB:
            continue
        texts.append(segment.text.strip())
        logprobs.append(segment.avg_logprob)
    text = " ".join(t for t in texts if t)
    return (text, float(np.exp(np.mean(logprobs)))) if text else ("", 0.0)
