"""ASR fixtures: a real server process, and a few spoken commands made with espeak-ng."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.asr import testset
from tests.support.ports import free_port
from tests.support.processes import ServiceProcess

# Exact-match checks need a fixed phrase set; the NLU's sentences (ASR_PHRASES=auto) are covered separately.
BASE_ENV = {"ASR_PHRASES": "builtin", "ASR_DECODE_WORKERS": "2", "LOG_LEVEL": "INFO"}


@pytest.fixture(scope="module")
def asr_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(
        "asr",
        {
            **BASE_ENV,
            "ASR_MAX_STREAMS": "4",
            "ASR_MAX_STREAM_SECONDS": "20",
            "ASR_MAX_SILENCE_SECONDS": "3",
            "METRICS_PORT": str(free_port()),
        },
        tmp_path_factory.mktemp("asr"),
    ).start()
    yield proc
    assert proc.stop() == 0, proc.log()[-3000:]


@pytest.fixture(scope="session")
def noise() -> Iterator[object]:
    yield testset.pink_noise(30)


@pytest.fixture(scope="session")
def spoken_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spoken")


def say(text: str, spoken_dir: Path, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> bytes:
    """One command as 16 kHz PCM with 0.3 s silence before and 0.8 s after."""
    return testset.speak(text, voice, speed, pitch, spoken_dir).tobytes()
