"""`python -m services.orders`: the orders gRPC server, its outbox relay and its
consumer of the catalog's reservation decisions."""

from __future__ import annotations

from pathlib import Path

import grpc
import redis.asyncio as aioredis

from services.orders import saga
from services.orders.config import DEFAULT_PORT, OrdersSettings
from services.orders.server import OrdersServicer
from shopvoice import db, grpc_server
from shopvoice.config import load
from shopvoice.orders.v1 import orders_pb2, orders_pb2_grpc
from shopvoice.outbox import OutboxRelay
from shopvoice.streams import StreamConsumer

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "orders"


def build(settings: OrdersSettings) -> grpc_server.Service:
    state: dict[str, db.Pool] = {}
    redis = aioredis.from_url(settings.redis_url)

    async def on_start() -> None:
        state["pool"] = await db.prepare(
            settings.database_url, SCHEMA, MIGRATIONS, settings.db_pool_min, settings.db_pool_max
        )

    async def on_stop() -> None:
        await state["pool"].close()
        await redis.aclose()

    def register(server: grpc.aio.Server) -> None:
        orders_pb2_grpc.add_OrdersServiceServicer_to_server(OrdersServicer(state["pool"], settings), server)

    async def relay() -> None:
        await OutboxRelay(state["pool"], redis, settings.stream_maxlen).run()

    async def reservations() -> None:
        consumer = saga.ReservationConsumer(state["pool"], settings.stream_prefix)
        await StreamConsumer(
            redis,
            settings.redis_keys.catalog_events,
            saga.GROUP,
            settings.consumer_name,
            consumer.handle,
            claim_idle_ms=settings.stream_claim_idle_ms,
            max_deliveries=settings.stream_max_deliveries,
        ).run()

    return grpc_server.Service(
        name="orders",
        default_port=DEFAULT_PORT,
        grpc_services=[orders_pb2.DESCRIPTOR.services_by_name["OrdersService"].full_name],
        register=register,
        on_start=on_start,
        on_stop=on_stop,
        background=[relay, reservations] if settings.relay_enabled else [reservations],
    )


if __name__ == "__main__":
    config = load(OrdersSettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
