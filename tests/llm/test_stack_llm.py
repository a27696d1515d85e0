"""`shopvoice up` / `make demo` and the local LLM: used when `make models` installed it, said plainly when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopvoice_cli.stack import DEFAULT_PORTS, Stack, local_llm, ports_from


def test_without_the_weights_the_stack_says_so_and_how_to_get_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPVOICE_MODELS_DIR", str(tmp_path))
    monkeypatch.delenv("LLM_MODEL_PATH", raising=False)
    usable, why = local_llm()
    assert not usable
    assert "grammar answers alone" in why and "`make models`" in why


def test_an_operators_own_model_file_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "own.gguf"
    own.write_bytes(b"GGUF")
    monkeypatch.setenv("LLM_MODEL_PATH", str(own))
    usable, why = local_llm()
    assert usable == (__import__("importlib").util.find_spec("llama_cpp") is not None)
    if usable:
        assert str(own) in why


def test_the_nlu_is_pointed_at_the_local_server_only_when_it_runs(tmp_path: Path) -> None:
    ports = ports_from(41000)
    assert ports["llm"] == 41000 + DEFAULT_PORTS["llm"] - DEFAULT_PORTS["gateway"]
    with_llm = Stack("postgres://x", "redis://x", tmp_path, ports=ports, llm=True).env()
    assert with_llm["VLLM_URL"] == f"http://127.0.0.1:{ports['llm']}/v1"
    assert with_llm["VLLM_RESPONSE_FORMAT"] == "json_object"
    assert with_llm["VLLM_MODEL"]
    without = Stack("postgres://x", "redis://x", tmp_path, ports=ports).env()
    assert "VLLM_URL" not in without
