"""A real HTTP server on loopback that plays an OpenAI-compatible endpoint badly on purpose.

Not a mock object: the parser's client opens real sockets to it. Each test sets what it
answers (a chat completion with given content, streamed, or an error status) and how long it sleeps
first, and reads how many requests arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    content: str = '{"intent": "undo", "slots": {}}'
    status: int = 200
    sleep_s: float = 0.0
    finish_reason: str = "stop"
    drop: bool = False  # close the connection without an answer, as a server killed mid-request does
    requests: list[dict[str, Any]] = field(default_factory=list)


def _stream(content: str, finish_reason: str) -> bytes:
    """The same answer as server-sent events, in pieces, the way llama.cpp's server and vLLM stream it."""
    middle = len(content) // 2
    pieces = [{"role": "assistant", "content": content[:middle]}, {"content": content[middle:]}]
    events = [
        {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": "fake",
            "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
        }
        for delta in pieces
    ]
    events.append({**events[-1], "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
    return b"".join(f"data: {json.dumps(event)}\n\n".encode() for event in events) + b"data: [DONE]\n\n"


@contextmanager
def fake_openai_server(behaviour: Behaviour) -> Iterator[str]:
    """Serve on a free loopback port; yields the base URL (…/v1)."""
    with fake_openai_server_on(0, behaviour) as url:
        yield url


@contextmanager
def fake_openai_server_on(port: int, behaviour: Behaviour) -> Iterator[str]:
    """Serve on loopback ``port`` (0: a free one); yields the base URL (…/v1)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length) or b"{}")
            behaviour.requests.append(request)
            if behaviour.drop:
                self.close_connection = True
                return
            time.sleep(behaviour.sleep_s)
            # an answer is always streamed: our client asks for a stream (test_parser checks it)
            streamed = behaviour.status == 200
            if streamed:
                body = _stream(behaviour.content, behaviour.finish_reason)
            else:
                body = json.dumps({"error": {"message": "fake failure", "type": "server_error"}}).encode()
            try:
                self.send_response(behaviour.status)
                self.send_header("Content-Type", "text/event-stream" if streamed else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its deadline): what the timeout tests want

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
