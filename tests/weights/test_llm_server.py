"""How the llama.cpp server is started: its command line, an environment that cannot
override it, and a refusal to start on weights that are not the pinned ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from shopvoice.llm_server import LlmServerSettings, command, environment

ROOT = Path(__file__).resolve().parents[2]


def flags(argv: list[str]) -> dict[str, str]:
    assert argv[1:3] == ["-m", "llama_cpp.server"]
    rest = argv[3:]
    return dict(zip(rest[::2], rest[1::2], strict=True))


def test_the_command_line_carries_the_settings_that_matter() -> None:
    settings = LlmServerSettings(LLM_PORT=9001, LLM_THREADS=3, LLM_MODEL_ALIAS="m")
    got = flags(command(Path("/models/x.gguf"), settings))
    assert got["--model"] == "/models/x.gguf"
    assert got["--model_alias"] == "m"
    assert (got["--host"], got["--port"]) == ("127.0.0.1", "9001")
    assert got["--n_threads"] == got["--n_threads_batch"] == "3", "never the host's CPU count"
    assert got["--n_ctx"] == "4096"
    assert got["--logits_all"] == "false", "the server's default keeps n_ctx x vocabulary logits (2.5 GB)"
    assert got["--use_mlock"] == "false"
    assert got["--interrupt_requests"] == "false"


def test_the_child_environment_cannot_move_the_server() -> None:
    settings = LlmServerSettings(LLM_HOST="0.0.0.0", LLM_PORT=9001)
    ours = {"PATH": "/bin", "HOME": "/tmp", "PORT": "50053", "HOST": "127.0.0.9", "MODEL": "/elsewhere", "N_CTX": "99"}
    env = environment(settings, ours)
    assert env == {"PATH": "/bin", "HOME": "/tmp", "HOST": "0.0.0.0", "PORT": "9001"}


def test_it_refuses_to_start_without_the_pinned_weights(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shopvoice.llm_server"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SHOPVOICE_MODELS_DIR": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 2
    assert "is missing: run `make models`" in done.stderr
