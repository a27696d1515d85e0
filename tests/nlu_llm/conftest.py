"""The LLM path's tests. Those marked `vllm` start a real vLLM server and belong to
their own environment and target (`make test-vllm`, which .ci/run also runs): the
default run deselects them, so `make test` stays fast; selected where vLLM is not
installed, they fail with a message saying how to run them (never a silent skip)."""

from __future__ import annotations

import importlib.util

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vllm: starts a real vLLM server on the CPU (make test-vllm)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "vllm" in (config.getoption("markexpr", "") or ""):
        if importlib.util.find_spec("vllm") is None:
            raise pytest.UsageError("the vllm tests need .venv-vllm: run `make test-vllm`")
        return
    deselected = [item for item in items if item.get_closest_marker("vllm") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("vllm") is None]
