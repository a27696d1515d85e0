"""Weights tests. Most use small files made here; those marked `models` need the real
weights and runtimes that `make models` installs, and run in `make test-models` (which
.ci/run runs after `make models`). The default run deselects them, so `make test` works on
a machine without the models; selected where the models are not installed, they fail with
a message saying how to install them (never a silent skip)."""

from __future__ import annotations

import importlib.util
import re

import pytest

from shopvoice.weights import ARTIFACTS, WeightsError, locate


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "models: needs the real weights and runtimes of `make models` (make test-models)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if re.search(r"(?<!not )\bmodels\b", config.getoption("markexpr", "") or ""):
        missing = [name for name in ("llama_cpp", "faster_whisper") if importlib.util.find_spec(name) is None]
        if missing:
            raise pytest.UsageError(f"{', '.join(missing)} not installed: run `make models` first")
        for artifact in ARTIFACTS.values():
            try:
                locate(artifact)
            except WeightsError as exc:
                raise pytest.UsageError(str(exc)) from exc
        return
    deselected = [item for item in items if item.get_closest_marker("models") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("models") is None]
