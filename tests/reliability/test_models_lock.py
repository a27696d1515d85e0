"""requirements-models.lock (what `make models` installs into the same venv) agrees with
requirements.lock: every package both name is pinned to the same version, every pin has a
hash, and the packages requirements-models.in asks for are pinned at their versions.
Regenerate both with scripts/lock.sh."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[A-Za-z0-9._,-]+\])?==([^\s\\]+)")


def pins(name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    lines = (ROOT / name).read_text().splitlines()
    for number, line in enumerate(lines):
        if match := PIN.match(line):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert "--hash=sha256:" in following, f"{name}: {match.group(1)} is pinned without a hash"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def test_packages_in_both_locks_are_pinned_to_one_version() -> None:
    project, models = pins("requirements.lock"), pins("requirements-models.lock")
    shared = set(project) & set(models)
    assert shared, "the locks share pydantic, numpy, ...: an empty intersection means a parse error"
    differ = {name: (project[name], models[name]) for name in shared if project[name] != models[name]}
    assert not differ, f"run scripts/lock.sh: versions differ between the locks: {differ}"


def test_what_the_models_need_is_pinned_at_the_asked_version() -> None:
    models = pins("requirements-models.lock")
    wanted = [
        Requirement(line)
        for line in (ROOT / "requirements-models.in").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    ]
    assert {canonicalize_name(r.name) for r in wanted} == {"llama-cpp-python", "faster-whisper"}
    for requirement in wanted:
        version = models.get(canonicalize_name(requirement.name))
        assert version is not None and requirement.specifier.contains(version), f"{requirement} (locked: {version})"
    # The server extra's own dependencies are there too (pip-compile --strip-extras drops the extra's name).
    assert {"fastapi", "uvicorn", "sse-starlette", "starlette-context", "pydantic-settings"} <= set(models)


def test_llama_cpp_python_is_pinned_to_its_one_source_archive() -> None:
    text = (ROOT / "requirements-models.lock").read_text()
    stanza = re.search(r"^llama-cpp-python==\S+ \\\n((?:\s+--hash=sha256:\w+(?: \\)?\n)+)", text, flags=re.M)
    assert stanza is not None
    assert re.findall(r"sha256:(\w+)", stanza.group(1)) == [
        "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
    ], "PyPI ships 0.3.36 as one sdist; scripts/install_model_packages.sh builds its wheel from it"
