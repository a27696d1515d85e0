"""Support settings from the environment (every variable in docs/configuration.md)."""

from __future__ import annotations

from pydantic import Field

from shopvoice.config import DatabaseSettings, ServiceAddresses, ServiceSettings
from shopvoice.llm.config import LlmSettings

DEFAULT_PORT = 50056


class SupportSettings(ServiceSettings, DatabaseSettings, LlmSettings, ServiceAddresses):
    vocab_ttl_s: float = Field(
        10.0, alias="SUPPORT_VOCAB_TTL_S", gt=0, description="how long a merchant's product names are cached"
    )
