"""The whole stack as real processes on free loopback ports, with its own database and streams."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shopvoice_cli import demo_shop
from shopvoice_cli.stack import Stack
from tests.support import servers
from tests.support.processes import free_stack_ports


def make_stack(database_url: str, redis_url: str, run_dir: Path, **env: str) -> Stack:
    prefix = f"svt{uuid.uuid4().hex[:10]}"
    stack = Stack(
        database_url=database_url,
        redis_url=redis_url,
        run_dir=run_dir,
        ports=free_stack_ports(),
        extra_env={"STREAM_PREFIX": prefix, "NLU_CONSUMER_NAME": "nlu-1", **env},
    )
    return stack


@pytest.fixture(scope="module")
def stack(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with servers.fresh_database(pg_admin_url) as database_url:
        running = make_stack(database_url, redis_url, tmp_path_factory.mktemp("stack"))
        running.start()
        demo_shop.seed_catalog(f"127.0.0.1:{running.ports['catalog']}")
        yield running
        running.stop()
