"""`python -m services.support`: customer questions answered from the shop's data, and tickets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc

from services.support.assistant import Assistant
from services.support.config import DEFAULT_PORT, SupportSettings
from services.support.server import SupportAdminServicer, SupportServicer
from services.support.shopdata import ShopData
from services.support.writer import AnswerWriter
from shopvoice import db, grpc_server
from shopvoice.config import load
from shopvoice.llm.breaker import CircuitBreaker
from shopvoice.llm.client import VllmClient
from shopvoice.support.v1 import support_pb2, support_pb2_grpc

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = "support"


def build(settings: SupportSettings) -> grpc_server.Service:
    # Channels and clients are made in on_start: grpc.aio objects belong to the
    # event loop that asyncio.run starts after build() returns.
    state: dict[str, Any] = {}

    async def on_start() -> None:
        state["pool"] = await db.prepare(
            settings.database_url, SCHEMA, MIGRATIONS, settings.db_pool_min, settings.db_pool_max
        )
        state["catalog"] = grpc_server.channel(settings.catalog_addr)
        state["orders"] = grpc_server.channel(settings.orders_addr)
        if settings.enabled:
            state["llm"] = VllmClient(settings.vllm_url, settings.vllm_model, settings.vllm_max_tokens)

    async def on_stop() -> None:
        await state["pool"].close()
        await state["catalog"].close(None)
        await state["orders"].close(None)
        if "llm" in state:
            await state["llm"].close()

    def register(server: grpc.aio.Server) -> None:
        shop = ShopData(state["catalog"], state["orders"], settings.rpc_timeout_s, settings.vocab_ttl_s)
        writer = None
        if "llm" in state:
            breaker = CircuitBreaker(settings.vllm_breaker_failures, settings.vllm_breaker_reset_s)
            writer = AnswerWriter(state["llm"], breaker, settings.vllm_timeout_s)
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
    config = load(SupportSettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
