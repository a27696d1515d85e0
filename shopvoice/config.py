"""Configuration from environment variables only (pydantic-settings).

Every variable is documented in docs/configuration.md. A required
variable that is missing or malformed fails the process at start, loudly.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopvoice.redis_keys import RedisKeys

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/shopvoice"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class ServiceSettings(BaseSettings):
    """What every service reads: where it listens, how it logs, how it stops."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    host: str = Field("127.0.0.1", alias="HOST", description="gRPC listen address")
    port: int = Field(0, alias="PORT", description="gRPC listen port (0 = the service default)")
    metrics_port: int = Field(0, alias="METRICS_PORT", description="Prometheus /metrics port (0 = off)")
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    shutdown_grace_s: float = Field(5.0, alias="SHUTDOWN_GRACE_S", gt=0)
    rpc_timeout_s: float = Field(5.0, alias="RPC_TIMEOUT_S", gt=0, description="deadline of outgoing calls")
    workers: int = Field(
        1, alias="WORKERS", ge=1, le=64, description="server processes sharing the port (SO_REUSEPORT) when > 1"
    )


class DatabaseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str = Field(DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    db_pool_min: int = Field(2, alias="DB_POOL_MIN", ge=1)
    db_pool_max: int = Field(10, alias="DB_POOL_MAX", ge=1)


class RedisSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    redis_url: str = Field(DEFAULT_REDIS_URL, alias="REDIS_URL")
    stream_maxlen: int = Field(100_000, alias="STREAM_MAXLEN", ge=100)
    stream_claim_idle_ms: int = Field(30_000, alias="STREAM_CLAIM_IDLE_MS", ge=100)
    stream_max_deliveries: int = Field(5, alias="STREAM_MAX_DELIVERIES", ge=1)
    stream_prefix: str = Field("sv", alias="STREAM_PREFIX", description="namespace of every stream key")

    @property
    def redis_keys(self) -> RedisKeys:
        """Every stream and key name under STREAM_PREFIX."""
        return RedisKeys(self.stream_prefix)
