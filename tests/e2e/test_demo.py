"""`make demo`'s command on its own database: it runs the whole conversation and the
price it changes is really in Postgres."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg

from shopvoice_cli import demo_shop
from tests.support.processes import free_stack_ports


def test_demo_runs_the_conversation_and_commits(database_url: str, redis_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STREAM_PREFIX": f"svt{uuid.uuid4().hex[:10]}",
        "SHOPVOICE_RUN_DIR": str(tmp_path),
        # Not the default ports: another test's server or connection may hold one of them.
        "SHOPVOICE_BASE_PORT": str(free_stack_ports()["gateway"]),  # the gateway's port is the base
        # The same demo on every machine: without the local LLM even where `make models` installed it
        # (tests/llm and tests/e2e/test_llm_faults.py test the LLM path).
        "SHOPVOICE_LLM": "off",
    }
    done = subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", "demo"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "merchant: 把B200的价格改成一百八十九块" in done.stdout
    assert "B200 价格 199.00 → 189.00 元" in done.stdout  # answered in the language asked
    assert "in Postgres now:" in done.stdout and "B200 = 189.00 CNY" in done.stdout
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT price FROM catalog.variants WHERE merchant_id = %s AND sku = 'B200'", (demo_shop.MERCHANT_ID,)
        ).fetchone()
    assert row is not None and Decimal(row[0]) == Decimal("189")
