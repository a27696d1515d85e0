"""Cost of the catalog's guardrail check (migration 0008's `guardrail_check`) per call, by how
many price changes the SKU has in its window, and for a bulk command that already changed
5000 products (its count stops at the threshold).

    PYTHONPATH=. .venv/bin/python bench/guardrail_check_cost.py

Postgres: TEST_DATABASE_URL or the local server (as the tests); a fresh database is made for
the run and dropped after. Each figure includes one round trip (printed too). Not a test: it prints.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import psycopg

from shopvoice import db
from tests.support import servers

CALLS = 500
HISTORY = (0, 10, 100, 1000, 10_000)


def per_call_ms(conn: psycopg.Connection[Any], query: str, params: tuple[Any, ...] = ()) -> float:
    for _ in range(50):  # warm: plans cached, pages in memory
        conn.execute(query, params).fetchall()
    started = time.perf_counter()
    for _ in range(CALLS):
        conn.execute(query, params).fetchall()
    return (time.perf_counter() - started) / CALLS * 1e3


async def main() -> None:
    with servers.postgres_admin_url() as admin, servers.fresh_database(admin) as url:
        await db.provision(url, "catalog")
        await db.migrate(url, "catalog", Path("services/catalog/migrations"))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET search_path = catalog")
            for n in HISTORY:
                merchant = f"m-{n}"
                conn.execute(
                    "INSERT INTO changes (merchant_id, sku, kind, old_value, new_value, user_id, command_id)"
                    " SELECT %s, 'A1', 'price', (100 + i %% 5)::text, (100 + (i + 1) %% 5)::text, 'u', 'c' || i"
                    " FROM generate_series(1, %s) i",
                    (merchant, n),
                )
                conn.execute("ANALYZE changes")
                query = "SELECT * FROM guardrail_check(%s, 'A1', 'utt-x', 100, 101, 0)"
                print(f"{n:>6} price changes of the SKU in the window: {per_call_ms(conn, query, (merchant,)):.3f} ms")
            conn.execute(
                "INSERT INTO changes (merchant_id, sku, kind, old_value, new_value, user_id, command_id)"
                " SELECT 'm-bulk', 'S' || i, 'price', '100', '90', 'u', 'bulk:job' FROM generate_series(1, 5000) i"
            )
            conn.execute("ANALYZE changes")
            bulk = "SELECT * FROM guardrail_check('m-bulk', 'S9999', 'bulk:job', 100, 90, 5001)"
            print(f"a bulk command that already changed 5000 products: {per_call_ms(conn, bulk):.3f} ms")
            print(f"one round trip (SELECT 1): {per_call_ms(conn, 'SELECT 1'):.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
