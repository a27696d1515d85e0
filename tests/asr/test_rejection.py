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
        assert _finals(proc, chatter) == []  # rejected, and nothing else to ask: no final at all
        assert _finals(proc, say("what are today's sales", spoken_dir)) == ["what are today's sales"]
    finally:
        assert proc.stop() == 0
