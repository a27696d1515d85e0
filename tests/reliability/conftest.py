"""Reliability and security suites. The fault-injection run (marked `faults`) takes
minutes and has its own target (`make test-faults`): the default run deselects it,
so `make test` stays fast; `-m faults` selects it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopvoice_cli import demo_shop
from shopvoice_cli.stack import Stack
from tests.e2e.conftest import make_stack
from tests.support import servers


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: the fault-injection suite, minutes long (make test-faults)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "faults" in (config.getoption("markexpr", "") or ""):
        return
    deselected = [item for item in items if item.get_closest_marker("faults") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("faults") is None]


@pytest.fixture(scope="module")
def stack(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole stack on a database of its own, with the demo shop seeded."""
    with servers.fresh_database(pg_admin_url) as database_url:
        running = make_stack(database_url, redis_url, Path(tmp_path_factory.mktemp("reliability")))
        running.start()
        try:
            demo_shop.seed_catalog(f"127.0.0.1:{running.ports['catalog']}")
            yield running
        finally:
            running.stop()
