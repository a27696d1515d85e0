"""Gateway settings from the environment (see README's configuration table)."""

from __future__ import annotations

from pydantic import Field

from shopvoice.config import RedisSettings, ServiceSettings

DEFAULT_PORT = 50051

# Development only: `shopvoice up` and the tests use it when AUTH_KEYS is unset.
# A deployment sets AUTH_KEYS from a Secret (deploy/k8s); the gateway logs a warning otherwise.
DEV_AUTH_KEYS = "dev:shopvoice-development-key-not-for-production"


class GatewaySettings(ServiceSettings, RedisSettings):
    auth_keys: str = Field(
        DEV_AUTH_KEYS, alias="AUTH_KEYS", description="HS256 signing keys as kid:secret[,kid:secret...]; first signs"
    )
    asr_addr: str = Field("", alias="ASR_ADDR", description="Riva-compatible ASR server; empty = text only")
    session_idle_timeout_s: float = Field(300, alias="SESSION_IDLE_TIMEOUT_S", gt=0)
    session_max_s: float = Field(3600, alias="SESSION_MAX_S", gt=0)
    reply_wait_s: float = Field(
        15, alias="REPLY_WAIT_S", gt=0, description="how long a finished client waits for replies"
    )
