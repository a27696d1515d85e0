"""The customer-facing stack as real processes: catalog, orders, support and the gateway
(hosting CustomerAssistant), on free ports with a fresh database and stream prefix."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys
from shopvoice.support.v1 import support_pb2 as sup
from shopvoice.support.v1 import support_pb2_grpc
from tests.customer import shop
from tests.support import servers
from tests.support.processes import ServiceProcess


@dataclass
class CustomerStack:
    gateway: str
    support: str
    seeded: shop.Seeded
    channel: grpc.Channel

    def token(self, merchant: str, customer: str, role: str = "customer") -> str:
        return mint(parse_keys(DEV_AUTH_KEYS), merchant, customer, role)

    def ask(self, text: str, merchant: str = shop.SHOP_A, customer: str = "cust-1", **fields: str) -> sup.Answer:
        stub = support_pb2_grpc.CustomerAssistantStub(self.channel)
        metadata = (("authorization", f"Bearer {self.token(merchant, customer)}"),)
        conversation = fields.pop("conversation_id", uuid.uuid4().hex)
        answer: sup.Answer = stub.Ask(
            sup.AskRequest(text=self.seeded.fill(text), conversation_id=conversation, **fields),
            metadata=metadata,
            timeout=10,
        )
        return answer


@pytest.fixture(scope="package")
def customer_stack(
    pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CustomerStack]:
    logs: Path = tmp_path_factory.mktemp("customer-stack")
    with servers.fresh_database(pg_admin_url) as database_url:
        env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "STREAM_PREFIX": f"svt{uuid.uuid4().hex[:10]}"}
        catalog = ServiceProcess("catalog", env, logs).start()
        orders = ServiceProcess("orders", env, logs).start()
        both = {**env, "CATALOG_ADDR": catalog.address, "ORDERS_ADDR": orders.address, "VLLM_URL": ""}
        support = ServiceProcess("support", both, logs).start()
        gateway = ServiceProcess("gateway", {**env, "SUPPORT_ADDR": support.address, "ASR_ADDR": ""}, logs).start()
        processes = [gateway, support, orders, catalog]
        try:
            seeded = shop.seed(catalog.address, orders.address, support.address)
            with grpc.insecure_channel(gateway.address) as channel:
                yield CustomerStack(gateway.address, support.address, seeded, channel)
        finally:
            for process in processes:
                process.stop()
