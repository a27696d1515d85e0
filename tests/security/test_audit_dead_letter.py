"""The audit writer against real Postgres: a record Postgres refuses goes to the dead-letter table
with its reason and the others are written; nothing is dropped when the writer stops, not even
while it waits to retry an unreachable Postgres."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from services.gateway.__main__ import MIGRATIONS, SCHEMA
from services.gateway.audit import AuditLog, AuditRecord, now
from shopvoice import db
from tests.support import servers


@pytest.fixture
def audit_db(pg_admin_url: str) -> Iterator[tuple[str, str]]:
    with servers.fresh_database(pg_admin_url) as url:
        yield pg_admin_url, url


def record(heard: str, merchant: str = "shop-a") -> AuditRecord:
    return AuditRecord(merchant, "u1", "owner", "s1", uuid.uuid4().hex, now(), heard, "RESULT_STATUS_OK")


def counts(url: str) -> tuple[int, list[tuple[str, str]]]:
    with psycopg.connect(url) as conn:
        written = conn.execute("SELECT count(*) FROM gateway.audit_log").fetchone()
        dead = conn.execute("SELECT reason, record FROM gateway.audit_dead_letter ORDER BY id").fetchall()
    assert written is not None
    return int(written[0]), [(str(r[0]), str(r[1])) for r in dead]


async def wait_for(url: str, total: int, within_s: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + within_s
    while asyncio.get_running_loop().time() < deadline:
        written, dead = counts(url)
        if written + len(dead) >= total:
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{counts(url)} after {within_s}s")


def test_poison_records_go_to_the_dead_letter_table_and_the_rest_are_written(audit_db: tuple[str, str]) -> None:
    _, url = audit_db
    poison = ["NUL \x00 here", "lone \ud800 surrogate", "\x00"]

    async def run() -> None:
        pool = await db.prepare(url, SCHEMA, MIGRATIONS, 1, 2)
        audit = AuditLog(pool)
        writer = asyncio.create_task(audit.run())
        try:
            for i in range(300):
                audit.record(record(poison[i // 100] if i % 100 == 50 else f"set price {i}"))
            await wait_for(url, 300)
            # The log keeps recording after the poison.
            for i in range(20):
                audit.record(record(f"after {i}"))
            await wait_for(url, 320)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            await audit.flush()
            await pool.close()

    asyncio.run(run())
    written, dead = counts(url)
    assert written == 317 and len(dead) == 3
    reasons = " | ".join(reason for reason, _ in dead)
    assert "0x00" in reasons or "NUL" in reasons or "CharacterNotInRepertoire" in reasons, reasons
    assert "surrogate" in reasons or "UnicodeEncodeError" in reasons, reasons
    heard = {json.loads(rec)["heard"] for _, rec in dead}
    assert heard == set(poison)


def test_a_stop_while_postgres_is_unreachable_loses_nothing(audit_db: tuple[str, str]) -> None:
    """Postgres refuses connections (ALLOW_CONNECTIONS false): the writer keeps the batch and
    retries; cancelled in its retry wait, the final flush (Postgres back) writes every record."""
    admin_url, url = audit_db
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]

    def allow(on: bool) -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(sql.Identifier(name), sql.Literal(on))
            )
            if not on:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))

    async def run() -> None:
        pool = await db.prepare(url, SCHEMA, MIGRATIONS, 1, 2)
        pool.timeout = 1.0  # a connection that cannot be had fails the write in a second
        audit = AuditLog(pool)
        writer = asyncio.create_task(audit.run())
        try:
            allow(False)
            for i in range(50):
                audit.record(record(f"during the outage {i}"))
            await asyncio.sleep(3)  # the writer tried, failed and is waiting to retry
            assert audit.pending, "the writer should hold the batch it could not write"
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            allow(True)
            await audit.flush()
        finally:
            allow(True)
            await pool.close()

    asyncio.run(run())
    written, dead = counts(url)
    assert (written, dead) == (50, [])
