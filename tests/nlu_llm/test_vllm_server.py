"""The LLM path against a real vLLM server on the CPU (make test-vllm, in .venv-vllm).

The model is tiny and random (tiny_model.py), generated here at test time, so its
answers mean nothing; what is tested is the path: the schema generated from
command.proto is accepted by vLLM's structured-output backend and holds the model to
it, every answer is validated (or becomes unknown), and when the server dies
(SIGKILL) the parser falls back to the grammar's answer and its breaker opens.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from services.nlu.llm import LlmAnswer, LlmParser, command_json_schema, validate
from services.nlu.llm.parser import ASKED_FOR
from services.nlu.llm.prompt import build_messages
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.llm.breaker import BreakerState
from shopvoice.llm.client import VllmClient
from shopvoice.llm.config import LlmSettings
from tests.support.ports import free_port  # not processes: the vLLM venv has no grpc_health

pytestmark = pytest.mark.vllm

START_TIMEOUT_S = float(os.environ.get("VLLM_TEST_START_TIMEOUT_S", "180"))
MODEL_NAME = "tiny-random"
UTTERANCES = ["把A100的价格改成九十九块", "ship order 1234 via SF", "A100还剩几件", "hello there", "撤回"]
# Long enough for the longest answer the schema allows (a 500-character unknown text),
# so every answer of the random model ends in "stop", never cut mid-JSON.
MAX_TOKENS = 1024
GRAMMAR_GUESS = cmd.Command(set_price=cmd.SetPrice(sku="A100", price=Money(units=99)))


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL the server and its engine processes (its own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.nlu_llm.tiny_model import build

    work = tmp_path_factory.mktemp("vllm")
    model = build(work / "model")
    port = free_port()
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB: the tiny model needs almost none
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
        "VLLM_CACHE_ROOT": str(work / "cache"),
    }
    log = work / "server.log"
    # `python -m ...api_server`: vllm-cpu's `vllm` command fails looking up its own version.
    command = [
        sys.executable, "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(model), "--served-model-name", MODEL_NAME,
        "--host", "127.0.0.1", "--port", str(port),
        "--dtype", "float", "--max-model-len", "8192", "--enforce-eager",
        "--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True}),
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    running = Server(process, f"{base}/v1", log)
    try:
        while not _healthy(base):
            if process.poll() is not None or time.monotonic() - started > START_TIMEOUT_S:
                tail = log.read_text(errors="replace")[-4000:]
                pytest.fail(f"vLLM did not become healthy (exit {process.poll()}):\n{tail}")
            time.sleep(1)
        print(f"vLLM healthy after {time.monotonic() - started:.0f} s")
        yield running
    finally:
        running.kill()


def parser_for(server: Server, **overrides: object) -> LlmParser:
    values: dict[str, object] = {
        "VLLM_URL": server.url,
        "VLLM_MODEL": MODEL_NAME,
        "VLLM_TIMEOUT_S": 60.0,
        "VLLM_MAX_TOKENS": MAX_TOKENS,
        "VLLM_BREAKER_FAILURES": 2,
        "VLLM_BREAKER_RESET_S": 300.0,
        "VLLM_RESPONSE_FORMAT": "json_schema",
    }
    values.update(overrides)
    return LlmParser(LlmSettings(**values))  # type: ignore[arg-type]


def test_structured_output_is_json_of_the_command_schema(server: Server) -> None:
    schema = command_json_schema()

    async def run() -> list[str]:
        client = VllmClient(server.url, MODEL_NAME, max_tokens=MAX_TOKENS, form="json_schema")
        try:
            contents = []
            for text in UTTERANCES:
                completion = await client.complete(build_messages(text), schema, deadline_s=60)
                assert completion.finish_reason == "stop", completion
                contents.append(completion.content)
            return contents
        finally:
            await client.close()

    for content in asyncio.run(run()):
        # Read as the NLU reads it (services/nlu/llm/parser.py): vLLM's JSON grammar lets a raw control
        # character through inside a string ("\x02" from this random model); the schema is what is checked.
        jsonschema.validate(json.loads(content, strict=False), schema)


def test_every_answer_is_a_valid_command_or_unknown(server: Server) -> None:
    async def run() -> list[LlmAnswer]:
        parser = parser_for(server)
        try:
            return [await parser.parse(text, GRAMMAR_GUESS) for text in UTTERANCES]
        finally:
            await parser.close()

    for text, answer in zip(UTTERANCES, asyncio.run(run()), strict=True):
        assert answer.source == "llm", answer
        if answer.reason == "ok":
            # a product, order or price not said is the dialogue's to ask for; nothing else is missing
            assert [p for p in validate(answer.command, allow_missing=True) if p not in ASKED_FOR] == []
        else:
            assert answer.reason.startswith("invalid")
            assert answer.command == cmd.Command(unknown=cmd.Unknown(text=text))


def test_a_killed_server_means_the_fallback_and_an_open_breaker(server: Server) -> None:
    async def run() -> tuple[LlmAnswer, list[LlmAnswer], BreakerState]:
        parser = parser_for(server, VLLM_TIMEOUT_S=5.0)
        try:
            before = await parser.parse("A100还剩几件", GRAMMAR_GUESS)
            server.kill()
            after = [await parser.parse("A100卖99", GRAMMAR_GUESS) for _ in range(3)]
            return before, after, parser.breaker_state
        finally:
            await parser.close()

    before, after, state = asyncio.run(run())
    assert before.source == "llm"
    assert [a.source for a in after] == ["fallback"] * 3
    assert all(a.command == GRAMMAR_GUESS for a in after)
    assert [a.reason for a in after] == ["unreachable", "unreachable", "breaker open"]
    assert state is BreakerState.OPEN
