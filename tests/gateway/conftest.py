"""A shared stack (catalog, NLU, gateway as real processes) plus extra gateway
replicas with their own settings, started on demand against the same streams."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys
from shopvoice_cli import demo_shop
from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.stack import Stack
from tests.e2e.conftest import make_stack
from tests.support import servers
from tests.support.processes import ServiceProcess

DEV_KEYS = parse_keys(DEV_AUTH_KEYS)


def token(merchant: str, role: str = "owner", user: str = "", ttl_s: int = 600) -> str:
    return mint(DEV_KEYS, merchant, user or f"{role}-1", role, ttl_s)


@dataclass
class GatewayStack:
    """The running stack and a way to start more gateway replicas on it."""

    stack: Stack
    run_dir: Path
    extra: list[ServiceProcess] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return self.stack.extra_env["STREAM_PREFIX"]

    @property
    def database_url(self) -> str:
        return self.stack.database_url

    def gateway(self, **env: str) -> ServiceProcess:
        """Another gateway replica: same database, Redis and streams, its own settings."""
        process = ServiceProcess("gateway", {**self.stack.env(), **env}, self.run_dir / f"gw-{uuid.uuid4().hex[:6]}")
        process.log_dir.mkdir(parents=True, exist_ok=True)
        self.extra.append(process)
        return process.start()

    def merchant(self) -> str:
        """A merchant of the test's own, with the demo products, so limits and counts do not mix."""
        merchant_id = f"m-{uuid.uuid4().hex[:8]}"
        demo_shop.seed_catalog(f"127.0.0.1:{self.stack.ports['catalog']}", merchant_id)
        return merchant_id

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def price(self, merchant_id: str, sku: str) -> Decimal:
        rows = self.query("SELECT price FROM catalog.variants WHERE merchant_id = %s AND sku = %s", merchant_id, sku)
        return Decimal(rows[0][0])


@pytest.fixture(scope="session")
def gw_stack(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    with servers.fresh_database(pg_admin_url) as database_url:
        run_dir = tmp_path_factory.mktemp("gwstack")
        stack = make_stack(database_url, redis_url, run_dir)
        stack.services = [s for s in stack.services if s in ("catalog", "nlu", "gateway")]
        stack.start()
        running = GatewayStack(stack, run_dir)
        try:
            yield running
        finally:
            for process in running.extra:
                process.stop()
            stack.stop()
            client = redis.Redis.from_url(redis_url)
            keys = list(client.scan_iter(f"{running.prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()


def say(target: str, tok: str, *texts: str) -> list[Turn]:
    """One session, the texts in order; the turns as the client saw them."""

    async def run() -> list[Turn]:
        async with Conversation(target, tok, timeout_s=15) as conversation:
            return [await conversation.say(text) for text in texts]

    return asyncio.run(run())


def eventually(check: Callable[[], bool], timeout_s: float = 10, what: str = "condition") -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout_s} s")
