"""Each image's lock carries every third-party module its code imports.

The images install requirements-runtime.lock (every service but the ASR) or requirements-asr.lock
(the ASR), not the dev lock the tests run under; a module imported by a service but locked only for
development would pass every test here and fail in the cluster at start.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.reliability.test_lock_file import pins

ROOT = Path(__file__).resolve().parents[2]
# The code the images carry (deploy/docker/Dockerfile copies these two packages).
IMAGE_PACKAGES = ("shopvoice", "services")
OURS = {*IMAGE_PACKAGES, "shopvoice_cli"}


def optional_at_run_time() -> set[str]:
    """Imported only where installed: pyproject's `perf` extra (grpc_server tries uvloop) and what
    `make models` installs (requirements-models.lock: the ASR tries faster-whisper and runs
    grammar-only, saying so, without it)."""
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return {canonicalize_name(Requirement(spec).name) for spec in extras["perf"]} | set(
        pins("requirements-models.lock")
    )


def imported_modules(path: Path) -> Iterator[str]:
    """Top-level names of the absolute imports in one file."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def image_lock(path: Path) -> str:
    return "requirements-asr.lock" if path.is_relative_to(ROOT / "services" / "asr") else "requirements-runtime.lock"


def files() -> list[Path]:
    return sorted(p for package in IMAGE_PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_the_images_code_is_found() -> None:
    found = files()
    assert any(image_lock(p) == "requirements-asr.lock" for p in found)
    assert len(found) > 50


@pytest.mark.parametrize("lock", ["requirements-runtime.lock", "requirements-asr.lock"])
def test_each_image_lock_carries_what_its_code_imports(lock: str) -> None:
    distributions = metadata.packages_distributions()
    locked = set(pins(lock))
    optional = optional_at_run_time()
    missing = []
    for path in files():
        if image_lock(path) != lock:
            continue
        for module in set(imported_modules(path)):
            if module in sys.stdlib_module_names or module in OURS or module == "__future__":
                continue
            candidates = {canonicalize_name(d) for d in distributions.get(module, [module])}
            if not candidates & (locked | optional):
                missing.append(f"{path.relative_to(ROOT)} imports {module} ({', '.join(sorted(candidates))})")
    assert not missing, f"not in {lock}, so not in the image:\n" + "\n".join(missing)
