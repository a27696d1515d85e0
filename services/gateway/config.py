"""Gateway settings from the environment (every variable in docs/configuration.md)."""

from __future__ import annotations

from pydantic import Field

from shopvoice.auth import DEFAULT_MAX_TOKEN_TTL_S, DEV_AUTH_KEYS
from shopvoice.config import DatabaseSettings, RedisSettings, ServiceSettings

DEFAULT_PORT = 50051


class GatewaySettings(ServiceSettings, RedisSettings, DatabaseSettings):
    auth_keys: str = Field(
        DEV_AUTH_KEYS,
        alias="AUTH_KEYS",
        description="token keys, kid:hs256:SECRET | kid:ed25519:SEED | kid:ed25519-pub:PUBLIC, comma-separated; first signing key signs",
    )
    auth_max_token_ttl_s: int = Field(
        DEFAULT_MAX_TOKEN_TTL_S,
        alias="AUTH_MAX_TOKEN_TTL_S",
        ge=60,
        le=7 * 24 * 3600,
        description="a bearer token that lives longer than this (exp - iat) is refused",
    )
    reflection: bool = Field(
        False, alias="GATEWAY_REFLECTION", description="serve gRPC reflection on the public port (off: less to probe)"
    )
    dev_mode: bool = Field(
        False,
        alias="SHOPVOICE_DEV_MODE",
        description="development: the gateway starts with the development key or a weak AUTH_KEYS",
    )
    # No defaults: a deployment says whether the gateway hears speech and hosts the customer channel.
    asr_addr: str = Field(alias="ASR_ADDR", description="Riva-compatible ASR server, host:port; empty = text only")
    support_addr: str = Field(
        alias="SUPPORT_ADDR",
        description="support service for the customer channel, host:port; empty = no customer channel",
    )
    asr_model: str = Field(
        "", alias="ASR_MODEL", description="Riva model name asked of the ASR; empty = the server's default"
    )
    session_start_timeout_s: float = Field(
        10,
        alias="SESSION_START_TIMEOUT_S",
        gt=0,
        description="a stream that sends no SessionStart within this long is closed",
    )
    session_idle_timeout_s: float = Field(
        300,
        alias="SESSION_IDLE_TIMEOUT_S",
        gt=0,
        description="a session with no client message and nothing in flight ends",
    )
    session_max_s: float = Field(
        3600, alias="SESSION_MAX_S", gt=0, description="a session ends after this long, whatever it does"
    )
    max_sessions_per_merchant: int = Field(
        100, alias="MAX_SESSIONS_PER_MERCHANT", ge=1, description="concurrent sessions, across all gateway replicas"
    )
    max_sessions_per_user: int = Field(
        10, alias="MAX_SESSIONS_PER_USER", ge=1, description="concurrent sessions of one user, across replicas"
    )
    owner_reserved_sessions: int = Field(
        1,
        alias="OWNER_RESERVED_SESSIONS",
        ge=0,
        description="the last this many of a merchant's sessions are the owner's alone",
    )
    max_sessions_per_process: int = Field(
        500, alias="MAX_SESSIONS_PER_PROCESS", ge=1, description="sessions one gateway process holds at once"
    )
    redis_pool_max: int = Field(
        0,
        alias="REDIS_POOL_MAX",
        ge=0,
        description="Redis connections of a gateway process; 0 = MAX_SESSIONS_PER_PROCESS + 16",
    )
    redis_pool_timeout_s: float = Field(
        2.0, alias="REDIS_POOL_TIMEOUT_S", gt=0, description="how long a Redis call waits for a free connection"
    )
    max_utterance_s: float = Field(
        60, alias="MAX_UTTERANCE_S", gt=0, description="a longer spoken utterance is refused (INVALID_ARGUMENT)"
    )
    session_lease_s: float = Field(
        30, alias="SESSION_LEASE_S", gt=0, description="a crashed gateway's sessions stop counting after this long"
    )
    rate_merchant_per_s: float = Field(
        50, alias="RATE_LIMIT_MERCHANT_RPS", ge=0, description="commands per second per merchant (0 = unlimited)"
    )
    rate_merchant_burst: int = Field(100, alias="RATE_LIMIT_MERCHANT_BURST", ge=1)
    rate_user_per_s: float = Field(
        10, alias="RATE_LIMIT_USER_RPS", ge=0, description="commands per second per user (0 = unlimited)"
    )
    rate_user_burst: int = Field(20, alias="RATE_LIMIT_USER_BURST", ge=1)
    reply_wait_s: float = Field(
        15, alias="REPLY_WAIT_S", gt=0, description="how long a finished client waits for replies"
    )
