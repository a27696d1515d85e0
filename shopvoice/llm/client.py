"""One structured-output request to an OpenAI-compatible API (llama.cpp's server or vLLM), under a deadline.

Client: the `openai` package (AsyncOpenAI with base_url=VLLM_URL) rather than bare
httpx. vLLM implements the OpenAI protocol, and so do the other servers this path may
point at (NIM, a hosted endpoint); the official client tracks that protocol (request
shapes, response models, error classes by status) so we do not re-implement it. Its
own retries are switched off (max_retries=0): the deadline, the one retry and the
circuit breaker are this module's and the parser's policy, and must be the only one.

Structured output, chosen by configuration (VLLM_RESPONSE_FORMAT), never by trying (a
refused form comes back as HTTP 500 from llama.cpp, which looks like a transient failure):
- "json_object": `{"type": "json_object", "schema": {...}}`, llama-cpp-python's server
  (the CPU default): the schema becomes a grammar;
- "json_schema": `{"type": "json_schema", "json_schema": {...}}`, the OpenAI form that vLLM
  accepts (the older `guided_json` extra parameter is gone from current vLLM).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import openai
from openai import AsyncOpenAI

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam
    from openai.types.chat.completion_create_params import ResponseFormat

RETRY_PAUSE_S = 0.05
RESPONSE_FORMATS = ("json_object", "json_schema")


def response_format(kind: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The request's `response_format` for a schema, in the form the server speaks."""
    if kind == "json_object":
        return {"type": "json_object", "schema": schema}
    if kind == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "command", "schema": schema, "strict": True}}
    raise ValueError(f"response format {kind!r} is not one of {', '.join(RESPONSE_FORMATS)}")


class LlmUnavailable(Exception):
    """The server did not answer usefully in time: timeout, unreachable, or an error status."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Completion:
    """The model's text and why it stopped ("stop", or "length" when cut short)."""

    content: str
    finish_reason: str


def _classify(exc: Exception) -> tuple[str, bool]:
    """(reason, worth one retry) for a failed request."""
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return "timeout", True
    if isinstance(exc, openai.APIConnectionError):
        return "unreachable", True
    if isinstance(exc, openai.APIStatusError):
        transient = exc.status_code >= 500 or exc.status_code == 429
        return f"http {exc.status_code}: {str(exc.message)[:200]}", transient
    return f"error: {type(exc).__name__}: {str(exc)[:200]}", False


class VllmClient:
    """Chat completions constrained by a JSON schema; one retry of a transient failure."""

    def __init__(self, base_url: str, model: str, max_tokens: int = 256, form: str = "json_object") -> None:
        if form not in RESPONSE_FORMATS:
            raise ValueError(f"response format {form!r} is not one of {', '.join(RESPONSE_FORMATS)}")
        # api_key: vLLM accepts any unless started with --api-key; the client requires one.
        self._client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
        self.model = model
        self.max_tokens = max_tokens
        self.form = form

    async def close(self) -> None:
        await self._client.close()

    async def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], deadline_s: float) -> Completion:
        """The completion, or LlmUnavailable once ``deadline_s`` (both attempts together) is spent."""
        end = time.monotonic() + deadline_s
        last_reason = "timeout"
        for attempt in (1, 2):
            remaining = end - time.monotonic()
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    return await self._request(messages, schema, remaining)
            except (openai.OpenAIError, TimeoutError) as exc:
                last_reason, transient = _classify(exc)
                if not transient or attempt == 2:
                    break
                await asyncio.sleep(min(RETRY_PAUSE_S, max(0.0, end - time.monotonic())))
        raise LlmUnavailable(last_reason)

    async def _request(self, messages: list[dict[str, str]], schema: dict[str, Any], timeout_s: float) -> Completion:
        # Streamed, so that a request cut at its deadline stops the server's work: llama.cpp's
        # server (and vLLM) notice the closed connection at the next token and drop the request.
        # Not streamed, it would run on to the end while the next utterance queues behind it,
        # miss its own deadline the same way, and so on (measured: after one slow answer every
        # utterance timed out until the breaker opened).
        stream = await self._client.chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            response_format=cast("ResponseFormat", response_format(self.form, schema)),
            temperature=0.0,
            max_tokens=self.max_tokens,
            timeout=timeout_s,
            stream=True,
        )
        parts: list[str] = []
        finish_reason = ""
        chosen = False
        try:
            async for chunk in stream:
                for choice in chunk.choices[:1]:
                    chosen = True
                    parts.append(choice.delta.content or "")
                    finish_reason = str(choice.finish_reason or finish_reason)
        finally:
            await stream.close()
        if not chosen:
            raise LlmUnavailable("error: no choices in the response")
        return Completion(content="".join(parts), finish_reason=finish_reason or "stop")
