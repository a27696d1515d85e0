"""The LLM tail's tests. Those marked `llm` run the NLU against the real model (llama.cpp's
server and the pinned weights of `make models`) in `make test-llm`, which .ci/run runs after
`make models`; the default run deselects them, so `make test` stays fast on any machine.
Selected where the models are not installed, they fail with a message saying how to install
them (never a silent skip)."""

from __future__ import annotations

import importlib.util
import re

import pytest

from shopvoice.weights import LLM, WeightsError, locate


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "llm: runs the NLU against the real model of `make models` (make test-llm)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if re.search(r"(?<!not )\bllm\b", config.getoption("markexpr", "") or ""):
        if importlib.util.find_spec("llama_cpp") is None:
            raise pytest.UsageError("llama_cpp is not installed: run `make models` first")
        try:
            locate(LLM)
        except WeightsError as exc:
            raise pytest.UsageError(str(exc)) from exc
        return
    deselected = [item for item in items if item.get_closest_marker("llm") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("llm") is None]
