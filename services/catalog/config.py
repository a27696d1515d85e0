"""Catalog settings from the environment (every variable in docs/configuration.md)."""

from __future__ import annotations

import socket
from decimal import Decimal

from pydantic import Field

from shopvoice.config import DatabaseSettings, RedisSettings, ServiceSettings

DEFAULT_PORT = 50054


class CatalogSettings(ServiceSettings, DatabaseSettings, RedisSettings):
    max_price: Decimal = Field(
        Decimal("1000000"), alias="CATALOG_MAX_PRICE", gt=0, description="highest accepted price"
    )
    default_currency: str = Field(
        "CNY", alias="CATALOG_DEFAULT_CURRENCY", description="currency of a shop until its first product names one"
    )
    # Stable per replica (the pod name), so a restarted replica resumes its own pending entries.
    consumer_name: str = Field(
        default_factory=socket.gethostname, alias="CATALOG_CONSUMER_NAME", description="name in consumer group"
    )
