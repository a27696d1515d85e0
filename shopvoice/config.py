"""Configuration from environment variables only (pydantic-settings).

Every variable is documented in docs/configuration.md. A required variable that is
missing or malformed fails the process at start (`load`), with one line per
variable that says which and what it should be.

Addresses of other services (*_ADDR) have no default: a deployment that forgets one
fails at start instead of calling 127.0.0.1. Loopback addresses belong to the local
stack (`shopvoice up`, which passes every one) and to the tests.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import Field, ValidationError
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


class ServiceAddresses(BaseSettings):
    """The catalog and orders services, for a service that calls both (NLU, support, worker)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    catalog_addr: str = Field(alias="CATALOG_ADDR", min_length=1, description="catalog service, host:port")
    orders_addr: str = Field(alias="ORDERS_ADDR", min_length=1, description="orders service, host:port")


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


S = TypeVar("S", bound=BaseSettings)


def load(settings_class: type[S]) -> S:
    """The settings from the environment, or the process ends here with what to fix."""
    try:
        return settings_class()
    except ValidationError as exc:
        raise SystemExit(problems(exc, settings_class)) from None


def problems(error: ValidationError, settings_class: type[BaseSettings]) -> str:
    """One clause per variable: "CATALOG_ADDR is not set (catalog service, host:port); ..."."""
    described = {f.alias or name: f.description or "" for name, f in settings_class.model_fields.items()}
    lines = []
    for item in error.errors():
        variable = str(item["loc"][0]) if item["loc"] else ""
        what = described.get(variable, "")
        if item["type"] == "missing":
            lines.append(f"{variable} is not set" + (f" ({what})" if what else ""))
        elif variable:
            lines.append(f"{variable}: {item['msg']}" + (f" ({what})" if what else ""))
        else:  # a rule over several variables
            lines.append(str(item["msg"]).removeprefix("Value error, "))
    return "cannot start: " + "; ".join(lines)
