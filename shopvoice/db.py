"""Postgres for a service: its own schema, its own role, its SQL migrations, a pool.

Each service owns one schema (catalog, orders) and a role of the same name
prefixed `sv_` that owns it; the pool's sessions run as that role with the
schema on the search_path, so a service cannot read another's tables even by
mistake. Where DATABASE_URL's user may create roles (a dev or test server) the
role and schema are created at start; in production they are provisioned ahead
and the URL logs in as the service's own role.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from shopvoice import log

# Every pooled connection returns rows as dicts.
Conn = psycopg.AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Conn]

LIBRARY_MIGRATIONS = Path(__file__).parent / "migrations"

# One advisory lock id per schema name keeps two replicas from migrating at once.
_LOCK_NAMESPACE = 0x5F5F


def role_for(schema: str) -> str:
    return f"sv_{schema}"


async def provision(database_url: str, schema: str) -> None:
    """Create the service's role and schema where the URL's user is allowed to."""
    role = role_for(schema)
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        row = await (
            await conn.execute("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
        ).fetchone()
        if not row or not row[0]:
            return
        await conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_LOCK_NAMESPACE, "provision"))
        try:
            exists = await (await conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))).fetchone()
            if not exists:
                await conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
            await conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {} AUTHORIZATION {}").format(
                    sql.Identifier(schema), sql.Identifier(role)
                )
            )
            # The login user may act as the service role (SET ROLE) but the role itself
            # has no rights outside its schema.
            await conn.execute(sql.SQL("GRANT {} TO current_user").format(sql.Identifier(role)))
            await conn.execute(sql.SQL("REVOKE ALL ON SCHEMA public FROM {}").format(sql.Identifier(role)))
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_LOCK_NAMESPACE, "provision"))


def session_options(schema: str) -> str:
    """libpq options so every pooled session runs as the service role in its schema."""
    return f"-c role={role_for(schema)} -c search_path={schema}"


async def migrate(database_url: str, schema: str, migrations: Path) -> list[str]:
    """Apply the library's tables (outbox, idempotency) and then the service's
    numbered *.sql files, once each, in order, each in its own transaction."""
    logger = log.get().bind(component="migrations", schema=schema)
    applied: list[str] = []
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, options=session_options(schema)
    ) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_LOCK_NAMESPACE, schema))
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in await (await conn.execute("SELECT version FROM schema_migrations")).fetchall()}
            files = [*sorted(LIBRARY_MIGRATIONS.glob("*.sql")), *sorted(migrations.glob("*.sql"))]  # noqa: ASYNC240
            for path in files:
                if path.stem in done:
                    continue
                async with conn.transaction():
                    await conn.execute(path.read_text())  # start-up, small local file  # trusted file of ours
                    await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (path.stem,))
                applied.append(path.stem)
                logger.info("migration applied", version=path.stem)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_LOCK_NAMESPACE, schema))
    return applied


async def open_pool(
    database_url: str, schema: str, min_size: int = 2, max_size: int = 10, autocommit: bool = False
) -> Pool:
    """With `autocommit`, a statement outside `conn.transaction()` is its own
    transaction: one round trip instead of BEGIN, the statement and COMMIT. Every
    write of more than one statement must then be inside `conn.transaction()`."""
    pool = Pool(
        database_url,
        connection_class=Conn,
        min_size=min_size,
        max_size=max_size,
        kwargs={"options": session_options(schema), "row_factory": dict_row, "autocommit": autocommit},
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool


async def prepare(
    database_url: str,
    schema: str,
    migrations: Path,
    min_size: int = 2,
    max_size: int = 10,
    autocommit: bool = False,
) -> Pool:
    """Everything a service does with Postgres at start: provision, migrate, pool."""
    await provision(database_url, schema)
    await migrate(database_url, schema, migrations)
    return await open_pool(database_url, schema, min_size, max_size, autocommit)
