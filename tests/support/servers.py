"""Where the tests' Postgres and Redis come from: always real servers.

Order: TEST_DATABASE_URL / TEST_REDIS_URL; else testcontainers when Docker
answers; else the local servers on 127.0.0.1. In CI a missing server is a
failure, never a skip.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@contextmanager
def postgres_admin_url() -> Iterator[str]:
    if url := os.environ.get("TEST_DATABASE_URL"):
        yield url
        return
    if not _answers("127.0.0.1", 5432) and _docker_answers():
        from testcontainers.postgres import PostgresContainer  # type: ignore[import-not-found]

        with PostgresContainer("postgres:16-alpine", driver=None) as pg:
            yield pg.get_connection_url()
        return
    if not _answers("127.0.0.1", 5432):
        raise RuntimeError("no Postgres: set TEST_DATABASE_URL or start one on 127.0.0.1:5432 (.ci/run does)")
    yield LOCAL_PG


@contextmanager
def redis_url() -> Iterator[str]:
    if url := os.environ.get("TEST_REDIS_URL"):
        yield url
        return
    if not _answers("127.0.0.1", 6379) and _docker_answers():
        from testcontainers.redis import RedisContainer  # type: ignore[import-not-found]

        with RedisContainer("redis:7-alpine") as r:
            yield f"redis://{r.get_container_host_ip()}:{r.get_exposed_port(6379)}/0"
        return
    if not _answers("127.0.0.1", 6379):
        raise RuntimeError("no Redis: set TEST_REDIS_URL or start one on 127.0.0.1:6379 (.ci/run does)")
    yield LOCAL_REDIS


@contextmanager
def stream_namespace(redis_url: str) -> Iterator[str]:
    """A key prefix of its own (STREAM_PREFIX) for a test or module; its keys go afterwards."""
    import redis

    prefix = f"svt{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A database of its own for one test, dropped afterwards (tests run in parallel)."""
    name = f"svt_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
