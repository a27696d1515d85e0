"""The guardrails through the real stack: the catalog's refusal becomes the merchant's question,
their "confirm" reaches the catalog with their identity, and the audit trail (the gateway's log,
`shopvoice audit`) holds who asked, who confirmed, before and after, and the rule that asked.

Time is moved by backdating the catalog's history rows in the real Postgres."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import grpc
import psycopg

from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli import demo_shop
from shopvoice_cli.client import Conversation, Turn
from shopvoice_cli.stack import Stack
from tests.e2e.test_text_command import price_of

Script = Callable[[Conversation], Awaitable[list[Turn]]]
SHOP = demo_shop.MERCHANT_ID


def token(user: str, role: str, merchant: str = SHOP) -> str:
    return mint(parse_keys(DEV_AUTH_KEYS), merchant, user, role)


def converse(
    stack: Stack, script: Script, user: str = "owner-1", role: str = "owner", merchant: str = SHOP
) -> list[Turn]:
    async def run() -> list[Turn]:
        async with Conversation(stack.gateway, token(user, role, merchant)) as conversation:
            return await script(conversation)

    return asyncio.run(run())


def kind(turn: Turn) -> str:
    assert turn.final is not None, turn.messages
    return turn.final.WhichOneof("kind") or ""


def sql(stack: Stack, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def audit_row(stack: Stack, utterance_id: str) -> dict[str, Any]:
    """The gateway's audit record of one turn (written in batches: waited for)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with psycopg.connect(stack.database_url) as conn:
            cur = conn.execute(
                "SELECT user_id, heard, understood, status, requested_by, confirmed_by, rule, subject,"
                " before_value, after_value, requested_in FROM gateway.audit_log"
                " WHERE merchant_id = %s AND utterance_id = %s",
                (SHOP, utterance_id),
            )
            row = cur.fetchone()
            if row is not None:
                assert cur.description is not None
                return {d.name: v for d, v in zip(cur.description, row, strict=True)}
        time.sleep(0.1)
    raise AssertionError(f"no audit record of {utterance_id}")


def test_two_15_percent_cuts_within_an_hour_the_second_asks_and_the_trail_names_who(stack: Stack) -> None:
    before = price_of(stack, "B200")  # 199.00; no other test here touches it

    async def script(c: Conversation) -> list[Turn]:
        return [
            await c.say("lower the price of B200 by 15%"),
            await c.say("lower the price of B200 by 15%"),
            await c.say("yes, confirm"),
        ]

    first, second, confirmed = converse(stack, script)
    assert first.result is not None and first.result.status == gw.RESULT_STATUS_OK, first.messages
    assert kind(second) == "confirmation", second.messages
    prompt = second.final.confirmation  # type: ignore[union-attr]
    assert (
        prompt.rule == "price_window"
        and "27.7% below its highest price of the last 24 hours (199.00" in prompt.prompt
        and "Confirm?" in prompt.prompt
    ), prompt
    assert confirmed.result is not None and confirmed.result.status == gw.RESULT_STATUS_OK, confirmed.messages
    assert before == Decimal("199.00") and price_of(stack, "B200") == Decimal("143.78")

    assert sql(
        stack,
        "SELECT user_id, confirmed_by, rule, command_id FROM catalog.changes WHERE merchant_id = %s AND sku = 'B200'"
        " ORDER BY seq",
        SHOP,
    ) == [("owner-1", "", "", first.utterance_id), ("owner-1", "owner-1", "price_window", second.utterance_id)]

    asked = audit_row(stack, second.utterance_id)
    assert (asked["status"], asked["requested_by"], asked["confirmed_by"], asked["rule"]) == (
        "CONFIRMATION_ASKED",
        "owner-1",
        "",
        "price_window",
    )
    assert asked["heard"] == "lower the price of B200 by 15%" and asked["understood"]["intent"] == "adjust_price"
    done = audit_row(stack, confirmed.utterance_id)
    assert (done["requested_by"], done["confirmed_by"], done["rule"], done["subject"]) == (
        "owner-1",
        "owner-1",
        "price_window",
        "B200",
    )
    assert (done["before_value"], done["after_value"], done["requested_in"]) == (
        "169.15",
        "143.78",
        second.utterance_id,
    )
    unasked = audit_row(stack, first.utterance_id)
    assert (unasked["requested_by"], unasked["confirmed_by"], unasked["rule"]) == ("owner-1", "", "")

    # `shopvoice audit`: the merchant's trail for the product, as CSV
    listed = subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", "audit", "--merchant", SHOP, "--product", "b200", "--csv", "-"],
        env={**os.environ, "DATABASE_URL": stack.database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert [(r["utterance_id"], r["requested_by"], r["confirmed_by"], r["rule"]) for r in rows] == [
        (first.utterance_id, "owner-1", "", ""),
        (second.utterance_id, "owner-1", "", "price_window"),
        (confirmed.utterance_id, "owner-1", "owner-1", "price_window"),
    ]
    audit_args = ["--merchant", SHOP, "--changes", "--user", "owner-1", "--product", "B200", "--since", "1h"]
    changes = subprocess.run(
        [sys.executable, "-m", "shopvoice_cli.main", "audit", *audit_args, "--csv", "-"],
        env={**os.environ, "DATABASE_URL": stack.database_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    history = list(csv.DictReader(io.StringIO(changes.stdout)))
    assert [(r["before"], r["after"], r["confirmed_by"], r["rule"], r["heard"]) for r in history] == [
        ("199.00", "169.15", "", "", "lower the price of B200 by 15%"),
        ("169.15", "143.78", "owner-1", "price_window", "lower the price of B200 by 15%"),
    ]


def test_after_24_hours_the_second_cut_does_not_ask(stack: Stack) -> None:
    async def one(c: Conversation) -> list[Turn]:
        return [await c.say("lower the price of C7 by 15%")]

    (first,) = converse(stack, one)
    assert first.result is not None and first.result.status == gw.RESULT_STATUS_OK, first.messages
    sql(
        stack,
        "UPDATE catalog.changes SET created_at = created_at - interval '25 hours' WHERE merchant_id = %s AND sku = 'C7'",
        SHOP,
    )
    (second,) = converse(stack, one)
    assert second.result is not None and second.result.status == gw.RESULT_STATUS_OK, second.messages
    assert sql(
        stack, "SELECT count(*) FROM catalog.changes WHERE merchant_id = %s AND sku = 'C7' AND rule = ''", SHOP
    ) == [(2,)]


def test_the_limit_is_set_by_the_owner_by_voice_and_read_by_a_viewer(stack: Stack) -> None:
    shop = f"m-{uuid.uuid4().hex[:8]}"  # a shop of its own: the limit changes nothing elsewhere

    async def owner(c: Conversation) -> list[Turn]:
        return [await c.say("把改价确认门槛设为百分之十五"), await c.say("确认")]

    async def viewer(c: Conversation) -> list[Turn]:
        return [await c.say("改价确认门槛是多少"), await c.say("把改价确认门槛设为百分之五十")]

    proposed, set_ = converse(stack, owner, merchant=shop)
    assert kind(proposed) == "confirmation" and "15%" in proposed.final.confirmation.prompt  # type: ignore[union-attr]
    assert set_.result is not None and set_.result.status == gw.RESULT_STATUS_OK, set_.messages
    read, denied = converse(stack, viewer, user="viewer-1", role="viewer", merchant=shop)
    assert read.result is not None and read.result.status == gw.RESULT_STATUS_OK, read.messages
    assert "15%" in read.result.message and "24小时" in read.result.message, read.result.message
    assert denied.result is not None and denied.result.grpc_code == "PERMISSION_DENIED", denied.messages
    with grpc.insecure_channel(f"127.0.0.1:{stack.ports['catalog']}") as channel:
        policy = catalog_pb2_grpc.CatalogServiceStub(channel).GetGuardrailPolicy(
            catalog_pb2.GetGuardrailPolicyRequest(merchant_id=shop), timeout=5
        )
    assert (policy.price_change_percent, policy.updated_by) == ("15", "owner-1")
