"""The local LLM server as `shopvoice up` runs it, on a free loopback port, for tests and the bench."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shopvoice_cli.stack import wait_http


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@contextmanager
def llm_server(log_path: Path, threads: int = 2, start_timeout_s: float = 180.0) -> Iterator[str]:
    """Start shopvoice.llm_server (verified pinned weights); yields the OpenAI base URL (…/v1)."""
    port = free_port()
    env = {**os.environ, "LLM_PORT": str(port), "LLM_THREADS": str(threads)}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "shopvoice.llm_server"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        started = time.monotonic()
        if not wait_http(f"http://127.0.0.1:{port}/openapi.json", start_timeout_s, lambda: process.poll() is None):
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the LLM server did not start (exit {process.poll()}):\n{tail}")
        print(f"LLM server serving after {time.monotonic() - started:.1f} s", flush=True)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
