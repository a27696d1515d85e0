"""`python -m services.orders`: the orders gRPC server, its outbox relay and its
consumer of the catalog's reservation decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc
import redis.asyncio as aioredis

from services.orders import saga
from services.orders.config import DEFAULT_PORT, OrdersSettings
from services.orders.server import OrdersServicer
from shopvoice import db, grpc_server, streams
from shopvoice.config import load
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc
from shopvoice.outbox import OutboxRelay
from shopvoice.streams import StreamConsumer

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "orders"


@dataclass
class Orders:
    """The process's parts; the pool is made in `start` (it needs the event loop)."""

    settings: OrdersSettings
    redis: aioredis.Redis = field(init=False)
    pool: db.Pool = field(init=False)

    def __post_init__(self) -> None:
        self.redis = aioredis.from_url(self.settings.redis_url)

    async def start(self) -> None:
        s = self.settings
        self.pool = await db.prepare(s.database_url, SCHEMA, MIGRATIONS, s.db_pool_min, s.db_pool_max)

    async def stop(self) -> None:
        await self.pool.close()
        await streams.close(self.redis)

    def register(self, server: grpc.aio.Server) -> None:
        orders_pb2_grpc.add_OrdersServiceServicer_to_server(OrdersServicer(self.pool, self.settings), server)

    async def relay(self) -> None:
        await OutboxRelay(self.pool, self.redis, self.settings.stream_maxlen).run()

    async def consume_reservations(self) -> None:
        s = self.settings
        consumer = saga.ReservationConsumer(self.pool, s.stream_prefix)
        await StreamConsumer(
            self.redis,
            s.redis_keys.catalog_events,
            saga.GROUP,
            s.consumer_name,
            consumer.handle,
            claim_idle_ms=s.stream_claim_idle_ms,
            max_deliveries=s.stream_max_deliveries,
        ).run()


def build(settings: OrdersSettings) -> grpc_server.Service:
    orders = Orders(settings)
    return grpc_server.Service(
        name="orders",
        default_port=DEFAULT_PORT,
        grpc_services=[orders_pb2.DESCRIPTOR.services_by_name["OrdersService"].full_name],
        register=orders.register,
        on_start=orders.start,
        on_stop=orders.stop,
        # Off only to test crash recovery: orders commit, their events wait in the outbox.
        background=[orders.relay, orders.consume_reservations]
        if settings.relay_enabled
        else [orders.consume_reservations],
    )


if __name__ == "__main__":
    config = load(OrdersSettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
