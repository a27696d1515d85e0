"""docs/configuration.md documents every environment variable the code reads, and only those.

The settings classes are found, not listed: every pydantic-settings class in the packages below,
wherever a module defines it, so a new service, setting or module move is covered without
touching this test. Variables read straight from `os.environ` (the CLI, tests, benchmarks) are
found by their reads in the source.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "configuration.md"
# shopvoice_cli: the CLI's own package, where it has one.
PACKAGES = ("services", "shopvoice", "shopvoice_cli")
SOURCE_DIRS = (*PACKAGES, "bench", "tests", "scripts")
ENV_READ = re.compile(r"""(?:environ\.get\(|environ\[|getenv\()\s*["']([A-Z][A-Z0-9_]*)["']""")
# The shell's own: read to pass on to a child process, not a setting of ours.
NOT_OURS = {"PATH"}
# A documented variable: a backticked name in the first cell of a table row (`A`, `B` for a pair).
DOCUMENTED_ROW = re.compile(r"^\|\s*((?:`[A-Z][A-Z0-9_]*`(?:,\s*)?)+)\s*\|", re.M)


def settings_classes() -> set[type[BaseSettings]]:
    found: set[type[BaseSettings]] = set()
    for top in PACKAGES:
        try:
            package = importlib.import_module(top)
        except ModuleNotFoundError:
            continue
        for info in pkgutil.walk_packages(package.__path__, f"{top}."):
            if info.name.rsplit(".", 1)[-1] == "__main__":  # importing it would run the service
                continue
            try:
                module = importlib.import_module(info.name)
            except SystemExit:  # an entry module that loads its settings on import (the Celery app)
                continue
            for value in vars(module).values():
                if inspect.isclass(value) and issubclass(value, BaseSettings) and value is not BaseSettings:
                    found.add(value)
    return found


def env_names(settings: type[BaseSettings]) -> set[str]:
    """The variables one settings class reads: each field's alias, else env_prefix + its name."""
    prefix = str(settings.model_config.get("env_prefix") or "")
    names: set[str] = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias or field.alias
        if isinstance(alias, AliasChoices):
            names |= {choice for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(prefix + name)
    return {name.upper() for name in names}


def source_files() -> list[Path]:
    files = [p for d in SOURCE_DIRS if (ROOT / d).is_dir() for p in (ROOT / d).rglob("*") if p.suffix in {".py", ".sh"}]
    return [p for p in files if "_pb2" not in p.name]


def read_from_environ() -> dict[str, Path]:
    """Variable -> a file that reads it with os.environ / os.getenv."""
    return {name: path for path in source_files() for name in ENV_READ.findall(path.read_text())}


def documented() -> set[str]:
    rows = DOCUMENTED_ROW.findall(DOC.read_text())
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row)}


def test_the_settings_classes_are_found() -> None:
    classes = {cls.__name__ for cls in settings_classes()}
    assert {"GatewaySettings", "AsrSettings", "NluSettings", "CatalogSettings", "OrdersSettings"} <= classes
    assert "RIVA_URL" in set().union(*(env_names(cls) for cls in settings_classes()))


def test_every_setting_of_every_service_is_documented() -> None:
    missing = {
        f"{name} ({cls.__module__}.{cls.__qualname__})"
        for cls in settings_classes()
        for name in env_names(cls)
        if name not in documented()
    }
    assert not missing, f"not in {DOC.relative_to(ROOT)}:\n" + "\n".join(sorted(missing))


def test_every_variable_read_from_the_environment_is_documented() -> None:
    missing = {
        f"{name} ({path.relative_to(ROOT)})"
        for name, path in read_from_environ().items()
        if name not in NOT_OURS | documented()
    }
    assert not missing, f"not in {DOC.relative_to(ROOT)}:\n" + "\n".join(sorted(missing))


def test_every_documented_variable_is_still_read() -> None:
    """A documented name that no settings class, source file, Makefile or Dockerfile mentions is stale."""
    known = set().union(*(env_names(cls) for cls in settings_classes()))
    texts = [p.read_text() for p in source_files()]
    texts += [(ROOT / name).read_text() for name in ("Makefile", "deploy/docker/Dockerfile")]
    stale = {name for name in documented() - known if not any(re.search(rf"\b{name}\b", text) for text in texts)}
    assert not stale, f"{DOC.relative_to(ROOT)} documents what nothing reads any more: {sorted(stale)}"
