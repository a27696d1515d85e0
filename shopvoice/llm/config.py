"""LLM settings from the environment (every variable in docs/configuration.md).

VLLM_URL empty means the LLM path is off: the NLU keeps the grammar's answer for every
low-confidence utterance, the support service answers from its templates. The deadline bounds what one utterance can wait for the model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LlmSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    vllm_url: str = Field(
        "",
        alias="VLLM_URL",
        description="base URL of the OpenAI-compatible API, e.g. http://vllm:8000/v1 (empty = LLM off)",
    )
    vllm_model: str = Field("", alias="VLLM_MODEL", description="model name as the server serves it")
    vllm_timeout_s: float = Field(
        3.0, alias="VLLM_TIMEOUT_S", gt=0, description="deadline of one utterance's LLM call, retry included"
    )
    vllm_breaker_failures: int = Field(
        5, alias="VLLM_BREAKER_FAILURES", ge=1, description="consecutive failed calls that open the circuit breaker"
    )
    vllm_breaker_reset_s: float = Field(
        30.0, alias="VLLM_BREAKER_RESET_S", gt=0, description="how long the breaker stays open before one trial call"
    )
    vllm_max_tokens: int = Field(256, alias="VLLM_MAX_TOKENS", ge=16, description="cap on the answer's length")
    vllm_warm_s: float = Field(
        180.0,
        alias="VLLM_WARM_S",
        gt=0,
        description="how long the NLU's start-up request may take (the server reads the prompt's fixed prefix once)",
    )
    vllm_response_format: Literal["json_object", "json_schema"] = Field(
        "json_object",
        alias="VLLM_RESPONSE_FORMAT",
        description=(
            "how the request asks for schema-constrained JSON: json_object (llama.cpp's server, the CPU default)"
            " or json_schema (vLLM); the wrong one is refused with HTTP 500 or 400"
        ),
    )

    @property
    def enabled(self) -> bool:
        return bool(self.vllm_url.strip())
