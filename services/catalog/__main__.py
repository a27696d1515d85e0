"""`python -m services.catalog`: the catalog gRPC server, its outbox relay and
its consumer of the orders service's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc
import redis.asyncio as aioredis

from services.catalog.config import DEFAULT_PORT, CatalogSettings
from services.catalog.events import CatalogEvents
from services.catalog.order_events import CONSUMER, OrderEvents
from services.catalog.server import CatalogServicer
from shopvoice import db, grpc_server, streams
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.config import load
from shopvoice.outbox import OutboxRelay

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass
class Catalog:
    """The process's resources, made in on_start (the pool needs the event loop)."""

    settings: CatalogSettings
    redis: aioredis.Redis = field(init=False)
    pool: db.Pool = field(init=False)

    async def start(self) -> None:
        self.redis = aioredis.from_url(self.settings.redis_url)
        # Autocommit: the fast path's one statement is its own transaction, and a
        # read is one round trip; every multi-statement write uses conn.transaction().
        self.pool = await db.prepare(
            self.settings.database_url,
            "catalog",
            MIGRATIONS,
            self.settings.db_pool_min,
            self.settings.db_pool_max,
            autocommit=True,
        )

    async def stop(self) -> None:
        await self.pool.close()
        await streams.close(self.redis)

    def register(self, server: grpc.aio.Server) -> None:
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server(CatalogServicer(self.pool, self.settings), server)

    async def relay(self) -> None:
        await OutboxRelay(self.pool, self.redis, self.settings.stream_maxlen).run()

    async def consume_orders(self) -> None:
        s = self.settings
        handler = OrderEvents(self.pool, CatalogEvents(s.redis_keys.catalog_events))
        await streams.StreamConsumer(
            self.redis,
            s.redis_keys.orders_events,
            CONSUMER,
            s.consumer_name,
            handler.handle,
            claim_idle_ms=s.stream_claim_idle_ms,
            max_deliveries=s.stream_max_deliveries,
        ).run()


def build(settings: CatalogSettings) -> grpc_server.Service:
    catalog = Catalog(settings)
    return grpc_server.Service(
        name="catalog",
        default_port=DEFAULT_PORT,
        grpc_services=[catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name],
        register=catalog.register,
        on_start=catalog.start,
        on_stop=catalog.stop,
        background=[catalog.relay, catalog.consume_orders],
    )


if __name__ == "__main__":
    config = load(CatalogSettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
