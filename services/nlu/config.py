"""NLU settings from the environment (see README's configuration table)."""

from __future__ import annotations

import socket

from pydantic import Field

from shopvoice.config import RedisSettings, ServiceSettings

DEFAULT_PORT = 50053


class NluSettings(ServiceSettings, RedisSettings):
    catalog_addr: str = Field("127.0.0.1:50054", alias="CATALOG_ADDR")
    orders_addr: str = Field("127.0.0.1:50055", alias="ORDERS_ADDR")
    consumer_name: str = Field(default_factory=socket.gethostname, alias="NLU_CONSUMER_NAME")
    reply_ttl_s: int = Field(3600, alias="NLU_REPLY_TTL_S", description="how long a session's reply stream lives")
