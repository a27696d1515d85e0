"""A customer asks, is handed to a person, a member of staff replies with the CLI, and the
customer sees the reply in the same session: `shopvoice ask` and `shopvoice tickets` against
catalog, orders, support and the gateway as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shopvoice_cli import demo_shop
from shopvoice_cli.stack import Stack
from tests.e2e.conftest import make_stack
from tests.support import servers

ROOT = Path(__file__).resolve().parents[2]
REPLY = "很抱歉！我们今天给您补发一个新的双肩包，单号稍后发给您。"


@pytest.fixture(scope="module")
def customer_side(pg_admin_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with servers.fresh_database(pg_admin_url) as database_url:
        running = make_stack(database_url, redis_url, tmp_path_factory.mktemp("customer-side"), VLLM_URL="")
        running.services = ["catalog", "orders", "support", "gateway"]
        running.start()
        demo_shop.seed_products(f"127.0.0.1:{running.ports['catalog']}")
        demo_shop.seed_policies(f"127.0.0.1:{running.ports['support']}")
        yield running
        running.stop()


def shopvoice(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SHOPVOICE_TOKEN", "AUTH_KEYS")}
    return subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )


def lines(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_ask_handed_off_staff_reply_by_cli_customer_sees_it(customer_side: Stack) -> None:
    gateway, support = customer_side.gateway, f"127.0.0.1:{customer_side.ports['support']}"
    conversation = uuid.uuid4().hex
    asked = lines(
        shopvoice(
            "ask",
            "双肩包的容量多大",
            "拉链坏了，才用一周",
            "--conversation",
            conversation,
            "--gateway",
            gateway,
            "--json",
        )
    )
    assert asked[0]["kind"] == "answered" and "25升" in asked[0]["answer"]
    assert asked[1]["kind"] == "handed off" and asked[1]["ticket"]
    ticket = asked[1]["ticket"]

    listed = lines(shopvoice("tickets", "list", "--support", support, "--json"))
    assert [t["ticket_id"] for t in listed] == [ticket]
    assert listed[0]["customer_id"] == "cust-1" and listed[0]["reason"] == "complaint"

    replied = shopvoice("tickets", "reply", ticket, REPLY, "--support", support)
    assert replied.returncode == 0, replied.stderr
    assert f"staff: {REPLY}" in replied.stdout and "customer: 拉链坏了，才用一周" in replied.stdout

    # The customer, still in the conversation, sees the reply (and only once).
    seen = lines(shopvoice("ask", "--conversation", conversation, "--gateway", gateway, "--wait", "5", "--json"))
    assert seen == [
        {"conversation": conversation, "staff": REPLY, "ticket": ticket, "message_id": seen[0]["message_id"]}
    ]

    # Another customer with the same conversation id sees nothing of it.
    other = lines(
        shopvoice(
            "ask", "--conversation", conversation, "--customer", "cust-2", "--gateway", gateway, "--wait", "1", "--json"
        )
    )
    assert other == []

    closed = shopvoice("tickets", "close", ticket, "--support", support)
    assert closed.returncode == 0 and f"ticket {ticket} [closed]" in closed.stdout
    again = shopvoice("tickets", "reply", ticket, "one more thing", "--support", support)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "closed" in again.stderr, again.stderr


def test_ask_reads_questions_from_stdin_in_one_conversation(customer_side: Stack) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SHOPVOICE_TOKEN", "AUTH_KEYS")}
    done = subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", "ask", "--gateway", customer_side.gateway, "--json"],
        input="how much is the thermos\nand the backpack?\nthanks!\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
    )
    rows = lines(done)
    assert [r["kind"] for r in rows] == ["answered", "answered", "small talk"]
    assert "49" in rows[0]["answer"] and "159" in rows[1]["answer"] and "49" not in rows[1]["answer"]
    assert len({r["conversation"] for r in rows}) == 1


def test_ask_says_in_one_line_when_the_gateway_is_not_there() -> None:
    done = shopvoice("ask", "hello", "--gateway", "127.0.0.1:1")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "cannot reach the gateway" in done.stderr
