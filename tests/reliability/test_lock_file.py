"""requirements.lock stays in step with pyproject.toml: every dependency (and dev tool)
pinned to a version its specifier allows, with hashes. Regenerate with scripts/lock.sh."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s\\]+)")


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    for number, line in enumerate(lines):
        if match := PIN.match(line):
            following = lines[number + 1] if number + 1 < len(lines) else ""
            assert "--hash=sha256:" in following, f"{match.group(1)} is pinned without a hash"
            found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def test_every_dependency_is_locked_at_a_version_it_allows() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    locked = pins()
    stale = []
    for spec in wanted:
        requirement = Requirement(spec)
        version = locked.get(canonicalize_name(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            stale.append(f"{spec} (locked: {version})")
    assert not stale, "requirements.lock is out of date; run scripts/lock.sh:\n" + "\n".join(stale)
