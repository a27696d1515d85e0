"""One structured-output request to vLLM's OpenAI-compatible API, under a deadline.

Client: the `openai` package (AsyncOpenAI with base_url=VLLM_URL) rather than bare
httpx. vLLM implements the OpenAI protocol, and so do the other servers this path may
point at (NIM, a hosted endpoint); the official client tracks that protocol (request
shapes, response models, error classes by status) so we do not re-implement it. Its
own retries are switched off (max_retries=0): the deadline, the one retry and the
circuit breaker are this module's and the parser's policy, and must be the only one.

Structured output: `response_format` {"type": "json_schema", ...}, the OpenAI form that
vLLM accepts (the older `guided_json` extra parameter is gone from current vLLM).
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
    from openai.types.shared_params import ResponseFormatJSONSchema

RETRY_PAUSE_S = 0.05


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

    def __init__(self, base_url: str, model: str, max_tokens: int = 256) -> None:
        # api_key: vLLM accepts any unless started with --api-key; the client requires one.
        self._client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
        self.model = model
        self.max_tokens = max_tokens

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
        response = await self._client.chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            response_format=cast(
                "ResponseFormatJSONSchema",
                {"type": "json_schema", "json_schema": {"name": "command", "schema": schema, "strict": True}},
            ),
            temperature=0.0,
            max_tokens=self.max_tokens,
            timeout=timeout_s,
        )
        if not response.choices:
            raise LlmUnavailable("error: no choices in the response")
        choice = response.choices[0]
        return Completion(content=choice.message.content or "", finish_reason=str(choice.finish_reason))
