"""Orders settings from the environment (every variable in docs/configuration.md)."""

from __future__ import annotations

import socket

from pydantic import Field

from shopvoice.config import DatabaseSettings, RedisSettings, ServiceSettings

DEFAULT_PORT = 50055
DEFAULT_TIME_ZONE = "Asia/Shanghai"


class OrdersSettings(ServiceSettings, DatabaseSettings, RedisSettings):
    default_currency: str = Field(
        "CNY", alias="ORDERS_DEFAULT_CURRENCY", description="currency of a shop's first order"
    )
    default_time_zone: str = Field(DEFAULT_TIME_ZONE, alias="ORDERS_DEFAULT_TIME_ZONE")
    # Off only to test crash recovery: orders commit, their events wait in the outbox.
    relay_enabled: bool = Field(True, alias="ORDERS_RELAY_ENABLED", description="run the outbox relay")
    # A stable name lets a restarted process drain its own pending entries at once.
    consumer_name: str = Field(default_factory=socket.gethostname, alias="ORDERS_CONSUMER_NAME")
