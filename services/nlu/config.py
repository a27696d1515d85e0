"""NLU settings from the environment (every variable in docs/configuration.md)."""

from __future__ import annotations

import socket
from decimal import Decimal

from pydantic import Field

from shopvoice.config import RedisSettings, ServiceAddresses, ServiceSettings

DEFAULT_PORT = 50053


class NluSettings(ServiceSettings, RedisSettings, ServiceAddresses):
    consumer_name: str = Field(default_factory=socket.gethostname, alias="NLU_CONSUMER_NAME")
    reply_ttl_s: int = Field(3600, alias="NLU_REPLY_TTL_S", description="how long a session's reply stream lives")
    dialogue_ttl_s: int = Field(
        3600, alias="NLU_DIALOGUE_TTL_S", description="how long a session's dialogue state lives"
    )
    vocab_ttl_s: float = Field(60, alias="NLU_VOCAB_TTL_S", gt=0, description="catalog vocabulary cache lifetime")
    confirm_price_change_pct: Decimal = Field(
        Decimal(30),
        alias="NLU_CONFIRM_PRICE_CHANGE_PCT",
        ge=0,
        description="one price change above this asks before it is sent (the catalog's guardrails decide the rest)",
    )
    understood_after_ms: int = Field(
        50,
        alias="NLU_UNDERSTOOD_AFTER_MS",
        ge=0,
        description="a command still running after this sends its 'understood' reply ahead of the result",
    )
    llm_threshold: float = Field(
        0.8, alias="NLU_LLM_THRESHOLD", ge=0, le=1, description="grammar confidence below which the LLM is asked"
    )
