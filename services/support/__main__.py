"""`python -m services.support`: customer questions answered from the shop's data, and tickets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass
class Support:
    """The process's parts. Pool, channels and the LLM client are made in `start`:
    grpc.aio and psycopg objects belong to the event loop that runs the server."""

    settings: SupportSettings
    pool: db.Pool = field(init=False)
    catalog: grpc.aio.Channel = field(init=False)
    orders: grpc.aio.Channel = field(init=False)
    llm: VllmClient | None = None  # VLLM_URL empty: answers from templates only

    async def start(self) -> None:
        s = self.settings
        self.pool = await db.prepare(s.database_url, SCHEMA, MIGRATIONS, s.db_pool_min, s.db_pool_max)
        self.catalog = grpc_server.channel(s.catalog_addr)
        self.orders = grpc_server.channel(s.orders_addr)
        if s.enabled:
            self.llm = VllmClient(s.vllm_url, s.vllm_model, s.vllm_max_tokens, s.vllm_response_format)

    async def stop(self) -> None:
        await self.pool.close()
        await self.catalog.close(None)
        await self.orders.close(None)
        if self.llm is not None:
            await self.llm.close()

    def register(self, server: grpc.aio.Server) -> None:
        s = self.settings
        shop = ShopData(self.catalog, self.orders, s.rpc_timeout_s, s.vocab_ttl_s)
        writer = None
        if self.llm is not None:
            writer = AnswerWriter(
                self.llm, CircuitBreaker(s.vllm_breaker_failures, s.vllm_breaker_reset_s), s.vllm_timeout_s
            )
        support_pb2_grpc.add_SupportServiceServicer_to_server(
            SupportServicer(Assistant(self.pool, shop, writer), self.pool), server
        )
        support_pb2_grpc.add_SupportAdminServicer_to_server(SupportAdminServicer(self.pool), server)


def build(settings: SupportSettings) -> grpc_server.Service:
    support = Support(settings)
    return grpc_server.Service(
        name="support",
        default_port=DEFAULT_PORT,
        grpc_services=[
            support_pb2.DESCRIPTOR.services_by_name["SupportService"].full_name,
            support_pb2.DESCRIPTOR.services_by_name["SupportAdmin"].full_name,
        ],
        register=support.register,
        on_start=support.start,
        on_stop=support.stop,
    )


if __name__ == "__main__":
    config = load(SupportSettings)  # from the environment; what is missing ends the process here
    grpc_server.main(build(config), config)
