"""`python -m services.catalog`: the catalog gRPC server."""

from __future__ import annotations

from pathlib import Path

import grpc
import redis.asyncio as aioredis

from services.catalog.config import DEFAULT_PORT, CatalogSettings
from services.catalog.server import CatalogServicer
from shopvoice import db, grpc_server
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.outbox import OutboxRelay

MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: CatalogSettings) -> grpc_server.Service:
    state: dict[str, db.Pool] = {}
    redis = aioredis.from_url(settings.redis_url)
    servicer_box: list[CatalogServicer] = []

    async def on_start() -> None:
        pool = await db.prepare(
            settings.database_url, "catalog", MIGRATIONS, settings.db_pool_min, settings.db_pool_max
        )
        state["pool"] = pool
        servicer_box.append(CatalogServicer(pool, redis, settings))  # type: ignore[abstract]  # partial until the full catalog lands

    async def on_stop() -> None:
        await state["pool"].close()
        await redis.aclose()

    def register(server: grpc.aio.Server) -> None:
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server(servicer_box[0], server)

    async def relay() -> None:
        await OutboxRelay(state["pool"], redis, settings.stream_maxlen).run()

    return grpc_server.Service(
        name="catalog",
        default_port=DEFAULT_PORT,
        grpc_services=[catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name],
        register=register,
        on_start=on_start,
        on_stop=on_stop,
        background=[relay],
    )


if __name__ == "__main__":
    config = CatalogSettings()  # read from the environment
    grpc_server.main(build(config), config)
