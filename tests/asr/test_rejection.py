"""What is no command comes back as no command: noise, chatter, other languages.

The grammar decoder must end on a phrase, so before rejection 3 s of white noise came back
as "ship fifty" and a colleague's remark as "no". Now the grammar path is scored against a
phone loop (sphinx.judge): what free speech explains better is rejected, and goes to the
open-vocabulary engine (whisper, when installed), whose text the NLU reads like typed text.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from services.asr import testset
from shopvoice.grammar.parser import parse
from tests.asr.conftest import say
from tests.asr.support import chunks, client, stream, streaming_config
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.e2e


def _sox_synth(tmp_path: Path, *spec: str) -> bytes:
    out = tmp_path / "synth.raw"
    subprocess.run(
        ["sox", "-n", "-r", "16000", "-b", "16", "-c", "1", "-e", "signed-integer", str(out), "synth", *spec],
        check=True,
        capture_output=True,
    )
    return out.read_bytes()


def _finals(asr_server: ServiceProcess, audio: bytes) -> list[str]:
    results = stream(client(asr_server.address), chunks(audio), streaming_config())
    return [r.alternatives[0].transcript for r in results if r.is_final and r.alternatives]


def _commands(texts: list[str]) -> list[str]:
    return [t for t in texts if parse(t).command.WhichOneof("intent") not in (None, "unknown")]


@pytest.mark.parametrize(
    "spec",
    [("3", "whitenoise", "vol", "0.3"), ("2", "sine", "440", "vol", "0.3"), ("3", "pinknoise", "vol", "0.5")],
    ids=["white-noise", "tone", "pink-noise"],
)
def test_noise_and_tones_are_no_command(asr_server: ServiceProcess, tmp_path: Path, spec: tuple[str, ...]) -> None:
    assert _commands(_finals(asr_server, _sox_synth(tmp_path, *spec))) == []


@pytest.mark.parametrize(
    ("text", "voice"),
    [
        ("the delivery guy is late again", "en-us"),
        ("can you pass me the tape", "en-gb"),
        ("ich habe heute keine zeit fuer das mittagessen", "de"),
    ],
)
def test_chatter_and_other_languages_are_no_command(
    asr_server: ServiceProcess, spoken_dir: Path, text: str, voice: str
) -> None:
    audio = testset.speak(text, voice, 160, 50, spoken_dir).tobytes()
    assert _commands(_finals(asr_server, audio)) == []


def test_a_command_in_noise_is_still_heard(asr_server: ServiceProcess, spoken_dir: Path) -> None:
    text = "how many orders are waiting to ship"
    noisy = testset.Spoken(text, "en-us", 160, 50, np.frombuffer(say(text, spoken_dir), dtype="<i2")).with_noise(
        20.0, testset.pink_noise(10)
    )
    assert _finals(asr_server, noisy) == [text]


def test_without_the_whisper_model_the_asr_is_grammar_only_and_says_so(tmp_path: Path, spoken_dir: Path) -> None:
    env = {"ASR_PHRASES": "builtin", "ASR_DECODE_WORKERS": "1", "SHOPVOICE_MODELS_DIR": str(tmp_path / "no-models")}
    proc = ServiceProcess("asr", env, tmp_path).start()
    try:
        assert "open-vocabulary engine off" in proc.log()
        chatter = testset.speak("the delivery guy is late again", "en-us", 160, 50, spoken_dir).tobytes()
        # rejected, and nothing else to ask: the utterance's final is empty (a live client learns it is over)
        assert _finals(proc, chatter) == [""]
        assert _finals(proc, say("what are today's sales", spoken_dir)) == ["what are today's sales"]
    finally:
        assert proc.stop() == 0


def test_rejected_speech_on_a_live_stream_gets_an_empty_final_at_its_pause(tmp_path: Path, spoken_dir: Path) -> None:
    """A live microphone sends silence after speech until it hears the utterance is over: rejected
    speech must end with a final (empty) at its pause, not leave the stream waiting for
    ASR_MAX_SILENCE_SECONDS (the voice bench's turns that never came back)."""
    env = {"ASR_PHRASES": "builtin", "ASR_DECODE_WORKERS": "1", "SHOPVOICE_MODELS_DIR": str(tmp_path / "no-models")}
    proc = ServiceProcess("asr", env, tmp_path).start()
    try:
        chatter = testset.speak("the delivery guy is late again", "en-us", 160, 50, spoken_dir).tobytes()
        silence = b"\0\0" * 16_000 * 8  # eight seconds more of an open microphone
        asr = client(proc.address)
        first_final = None
        for response in asr.streaming_response_generator(chunks(chatter + silence), streaming_config()):
            finals = [r for r in response.results if r.is_final]
            if finals:
                first_final = finals[0]
                break
        # (before the fix the utterance ended at its pause with no final, and the stream with none)
        assert first_final is not None and first_final.alternatives[0].transcript == ""
    finally:
        assert proc.stop() == 0
