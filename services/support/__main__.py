"""`python -m services.support`: customer questions answered from the shop's data, and tickets."""

from __future__ import annotations

from pathlib import Path

import grpc

from services.nlu.llm.breaker import CircuitBreaker
from services.nlu.llm.client import VllmClient
from services.support.assistant import Assistant
from services.support.config import DEFAULT_PORT, SupportSettings
from services.support.server import SupportAdminServicer, SupportServicer
from services.support.shopdata import ShopData
from services.support.writer import AnswerWriter
from shopvoice import db, grpc_server
from shopvoice.support.v1 import support_pb2, support_pb2_grpc

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "support"


def build(settings: SupportSettings) -> grpc_server.Service:
    state: dict[str, db.Pool] = {}
    catalog = grpc_server.channel(settings.catalog_addr)
    orders = grpc_server.channel(settings.orders_addr)
    client = VllmClient(settings.vllm_url, settings.vllm_model, settings.vllm_max_tokens) if settings.enabled else None
    writer = (
        AnswerWriter(
            client,
            CircuitBreaker(settings.vllm_breaker_failures, settings.vllm_breaker_reset_s),
            settings.vllm_timeout_s,
        )
        if client
        else None
    )

    async def on_start() -> None:
        state["pool"] = await db.prepare(
            settings.database_url, SCHEMA, MIGRATIONS, settings.db_pool_min, settings.db_pool_max
        )

    async def on_stop() -> None:
        await state["pool"].close()
        await catalog.close(None)
        await orders.close(None)
        if client:
            await client.close()

    def register(server: grpc.aio.Server) -> None:
        shop = ShopData(catalog, orders, settings.rpc_timeout_s, settings.vocab_ttl_s)
        assistant = Assistant(state["pool"], shop, writer)
        support_pb2_grpc.add_SupportServiceServicer_to_server(SupportServicer(assistant), server)
        support_pb2_grpc.add_SupportAdminServicer_to_server(SupportAdminServicer(state["pool"]), server)

    return grpc_server.Service(
        name="support",
        default_port=DEFAULT_PORT,
        grpc_services=[
            support_pb2.DESCRIPTOR.services_by_name["SupportService"].full_name,
            support_pb2.DESCRIPTOR.services_by_name["SupportAdmin"].full_name,
        ],
        register=register,
        on_start=on_start,
        on_stop=on_stop,
    )


if __name__ == "__main__":
    config = SupportSettings()
    grpc_server.main(build(config), config)
