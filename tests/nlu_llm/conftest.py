"""The LLM path's tests. Those marked `vllm` start a real vLLM server and run only in
.venv-vllm (`make test-vllm`); everywhere else they are skipped, so `make test` stays fast."""

from __future__ import annotations

import importlib.util

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vllm: starts a real vLLM server on the CPU (make test-vllm)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected = "vllm" in (config.getoption("markexpr", "") or "")
    installed = importlib.util.find_spec("vllm") is not None
    if selected and installed:
        return
    reason = "real vLLM test: run with make test-vllm" if not selected else "vllm is not installed here"
    for item in items:
        if item.get_closest_marker("vllm") is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
