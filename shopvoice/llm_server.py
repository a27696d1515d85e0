"""llama.cpp's OpenAI-compatible server: the NLU's LLM on a CPU.

    python -m shopvoice.llm_server        # verify the pinned GGUF (or take LLM_MODEL_PATH), then serve

The server is llama-cpp-python's own (`python -m llama_cpp.server`, installed by `make
models`); this module only decides its command line and environment, so the local stack
(`command()`, `environment()`) and the `llm` image (this main) start it the same way.

Settings that matter, and why (measured figures in docs/models.md):
- --model_alias: the OpenAI `model` field the NLU sends (VLLM_MODEL), stable whatever the
  file is called.
- --n_threads / --n_threads_batch: explicit. The defaults count the host's CPUs, which in a
  container are the node's, not the pod's limit.
- --logits_all false: the server's default (true) keeps the logits of every prompt token,
  up to n_ctx x 151,936 floats (2.5 GB at n_ctx 4096): measured +1.5 GiB of RSS after one
  1,700-token prompt. They only serve `logprobs`, which the NLU never asks for.
- --cache false (the default): llama.cpp already reuses the longest matching start of the
  previous prompt, and the NLU keeps its long prefix fixed; the RAM cache was slower.
- --use_mlock false: locking 1.1 GB needs CAP_IPC_LOCK, which no pod of ours has; the
  weights are mmapped and stay in the page cache.
- --interrupt_requests false: a second caller must not cut a first caller's stream short;
  requests queue (one model, one request at a time).
- The chat template is the GGUF's own (Qwen's ChatML with its tool support), so no --chat_format.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopvoice.weights import LLM, WeightsError, locate

# Variables the child keeps from our environment. llama_cpp.server reads its settings from
# the environment too (pydantic-settings without a prefix: MODEL, PORT, HOST, N_CTX, ...),
# and a service's PORT or HOST must not leak into it.
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "LD_LIBRARY_PATH")


class LlmServerSettings(BaseSettings):
    """How the llama.cpp server runs (docs/models.md documents each variable)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", alias="LLM_HOST", description="listen address of the llama.cpp server")
    port: int = Field(8081, alias="LLM_PORT", ge=1, le=65535, description="its HTTP port (OpenAI API under /v1)")
    threads: int = Field(2, alias="LLM_THREADS", ge=1, description="CPU threads for generation and prompt reading")
    n_ctx: int = Field(4096, alias="LLM_N_CTX", ge=512, description="context window in tokens (prompt + answer)")
    model_alias: str = Field(
        "qwen2.5-coder-1.5b-instruct",
        alias="LLM_MODEL_ALIAS",
        description="the model name the server answers to; the NLU's VLLM_MODEL must match",
    )


def command(model: Path, settings: LlmServerSettings) -> list[str]:
    """The server's command line for a model file already located (and verified)."""
    threads = str(settings.threads)
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        settings.model_alias,
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--n_threads",
        threads,
        "--n_threads_batch",
        threads,
        "--n_ctx",
        str(settings.n_ctx),
        "--logits_all",
        "false",
        "--cache",
        "false",
        "--use_mlock",
        "false",
        "--interrupt_requests",
        "false",
        "--verbose",
        "false",
    ]


def environment(settings: LlmServerSettings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: a few of ours, and HOST/PORT equal to the flags (its __main__ prefers them)."""
    base = dict(os.environ) if base is None else base
    env = {k: v for k, v in base.items() if k in _KEPT}
    env["HOST"] = settings.host
    env["PORT"] = str(settings.port)
    return env


def main() -> None:
    settings = LlmServerSettings()
    try:
        model = locate(LLM)
    except WeightsError as exc:
        print(f"llm_server: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    argv = command(model, settings)
    # exec: the server becomes this process, so signals and the exit status are its own.
    os.execve(argv[0], argv, environment(settings))


if __name__ == "__main__":
    main()
