"""Fixtures shared by every test: real Postgres and Redis, isolated per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import settings

from tests.support import servers

# Services started by tests run without internal identity unless a test gives them INTERNAL_KEYS
# (tests/security does): shopvoice.identity refuses to start without keys outside dev mode.
os.environ.setdefault("SHOPVOICE_DEV_MODE", "1")

# CI explores the same examples every run (a failure there is reproducible, never a
# coin toss); locally hypothesis keeps searching new ones.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with servers.postgres_admin_url() as url:
        yield url


@pytest.fixture
def database_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh database for this test alone."""
    with servers.fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with servers.redis_url() as url:
        yield url


@pytest.fixture
def stream_prefix(redis_url: str) -> Iterator[str]:
    """A key namespace of this test's own (STREAM_PREFIX); its keys are deleted afterwards."""
    with servers.stream_namespace(redis_url) as prefix:
        yield prefix
