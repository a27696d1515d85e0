"""`shopvoice seed --orders N`: N orders of history for the merchant, in Postgres, as its help says."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg


def seed(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", "seed", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def counts(database_url: str, merchant: str) -> tuple[int, int, int, int]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM orders.orders WHERE merchant_id = %(m)s),"
            " (SELECT count(*) FROM orders.order_lines WHERE merchant_id = %(m)s),"
            " (SELECT coalesce(sum(orders), 0) FROM orders.sales_daily WHERE merchant_id = %(m)s AND sku = '*'),"
            " (SELECT coalesce(max(last_order_id), 0) FROM orders.merchants WHERE merchant_id = %(m)s)",
            {"m": merchant},
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def test_seed_orders_creates_that_many_orders_of_history(database_url: str) -> None:
    done = seed(database_url, "--orders", "40", "--merchant", "seeded-shop")
    said = done.stdout.splitlines()[-1]  # after the migrations' log lines, on a new database
    assert said.startswith("seeded 40 orders (") and "for merchant seeded-shop, ids 1-40," in said
    orders, lines, rolled_up, last_id = counts(database_url, "seeded-shop")
    assert orders == 40 and last_id == 40
    assert lines >= 40  # every order has at least one line
    # The rollup counts the orders still standing (fully refunded and voided ones drop out).
    assert 0 < rolled_up <= 40


def test_seeding_again_appends_after_the_last_order(database_url: str) -> None:
    seed(database_url, "--orders", "10", "--merchant", "twice")
    done = seed(database_url, "--orders", "15", "--merchant", "twice")
    assert "ids 11-25," in done.stdout.splitlines()[-1]
    assert counts(database_url, "twice")[0] == 25
    assert counts(database_url, "other")[0] == 0
