"""LLM settings from the environment (every variable in docs/configuration.md).

VLLM_URL empty means the LLM path is off: the NLU keeps the grammar's answer for every
low-confidence utterance, the support service answers from its templates. The deadline bounds what one utterance can wait for the model.
"""

from __future__ import annotations

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

    @property
    def enabled(self) -> bool:
        return bool(self.vllm_url.strip())
