"""Catalog settings from the environment (see README's configuration table)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from shopvoice.config import DatabaseSettings, RedisSettings, ServiceSettings

DEFAULT_PORT = 50054


class CatalogSettings(ServiceSettings, DatabaseSettings, RedisSettings):
    max_price: Decimal = Field(
        Decimal("1000000"), alias="CATALOG_MAX_PRICE", gt=0, description="highest accepted price"
    )
    default_currency: str = Field("CNY", alias="CATALOG_DEFAULT_CURRENCY")
