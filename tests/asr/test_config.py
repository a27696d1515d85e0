"""ASR settings that depend on where the server runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.asr.config import AsrSettings, usable_cores


def test_a_container_cpu_quota_caps_the_decoding_processes(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    affinity = len(os.sched_getaffinity(0))
    cpu_max.write_text("100000 100000\n")  # limits.cpu: 1
    assert usable_cores(cpu_max) == 1
    cpu_max.write_text("150000 100000\n")  # 1.5 cores: two processes can use them
    assert usable_cores(cpu_max) == min(2, affinity)
    cpu_max.write_text("max 100000\n")  # no limit
    assert usable_cores(cpu_max) == affinity
    assert usable_cores(tmp_path / "absent") == affinity


def test_an_explicit_worker_count_wins() -> None:
    assert AsrSettings(ASR_DECODE_WORKERS=3).decoding_processes == 3
    assert AsrSettings().decoding_processes == usable_cores()


def test_the_closed_phrase_pause_is_the_shorter_one() -> None:
    assert AsrSettings().closed_phrase_pause_ms < AsrSettings().phrase_pause_ms
    assert AsrSettings(ASR_PHRASE_PAUSE_MS=80, ASR_CLOSED_PHRASE_PAUSE_MS=80).closed_phrase_pause_ms == 80
    assert AsrSettings(ASR_PHRASE_PAUSE_MS=0).phrase_pause_ms == 0  # off: the default closed pause does not object
    with pytest.raises(
        ValidationError, match=r"ASR_CLOSED_PHRASE_PAUSE_MS \(100\) must not exceed ASR_PHRASE_PAUSE_MS"
    ):
        AsrSettings(ASR_PHRASE_PAUSE_MS=80, ASR_CLOSED_PHRASE_PAUSE_MS=100)


def test_the_noise_gate_is_on_unless_turned_off() -> None:
    assert AsrSettings().denoise is True
    assert AsrSettings(ASR_DENOISE="0").denoise is False
    with pytest.raises(ValidationError, match="ASR_DENOISE"):
        AsrSettings(ASR_DENOISE="sometimes")


def test_the_comfort_noise_follows_the_speaker_unless_told_not_to() -> None:
    assert AsrSettings().comfort_noise_below_db == 32.0
    assert AsrSettings(ASR_COMFORT_NOISE_BELOW_DB="0").comfort_noise_below_db == 0.0
    with pytest.raises(ValidationError, match="ASR_COMFORT_NOISE_BELOW_DB"):
        AsrSettings(ASR_COMFORT_NOISE_BELOW_DB="-6")
