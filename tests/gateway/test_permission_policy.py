"""The role × intent policy, every cell, and the merchant setting it reads from Redis."""

from __future__ import annotations

import asyncio
import itertools

import pytest
import redis.asyncio as aioredis

from shopvoice.common.v1.command_pb2 import Command
from shopvoice.permissions import INTENTS, PermissionGate, decide
from shopvoice.redis_keys import RedisKeys

# The policy written out by hand, independent of the module's own sets.
QUESTIONS = {
    "query_stock",
    "query_product",
    "query_order",
    "list_orders",
    "sales_report",
    "list_products",
    "low_stock",
    "export_report",
}
DIALOGUE = {"confirm", "cancel", "unknown"}
MONEY_BACK = {"cancel_order", "refund_order"}
ALL_INTENTS = {f.name for f in Command.DESCRIPTOR.oneofs_by_name["intent"].fields}


def expected(role: str, intent: str, staff_may_refund: bool) -> bool:
    if role == "owner":
        return True
    if role == "viewer":
        return intent in QUESTIONS | DIALOGUE
    return intent not in MONEY_BACK or staff_may_refund


def test_every_intent_of_the_contract_has_a_rule() -> None:
    assert set(INTENTS) == ALL_INTENTS


@pytest.mark.parametrize(
    ("role", "intent", "staff_may_refund"),
    list(itertools.product(("owner", "staff", "viewer"), sorted(ALL_INTENTS), (False, True))),
)
def test_role_against_intent(role: str, intent: str, staff_may_refund: bool) -> None:
    decision = decide(role, intent, staff_may_refund)
    assert decision.allowed is expected(role, intent, staff_may_refund)
    if not decision.allowed:
        assert intent.removesuffix("_order") in decision.reason, "a denial names what was refused"
        assert role in decision.reason or "staff" in decision.reason


def test_unknown_roles_and_intents_are_denied() -> None:
    assert not decide("admin", "set_price", True).allowed
    assert not decide("owner", "drop_database", True).allowed


def test_merchant_setting_in_redis_overrides_the_default(redis_url: str, stream_prefix: str) -> None:
    async def run() -> list[bool]:
        client = aioredis.from_url(redis_url)
        try:
            strict = PermissionGate(client, stream_prefix, staff_may_refund_default=False)
            lenient = PermissionGate(client, stream_prefix, staff_may_refund_default=True)
            await client.hset(RedisKeys(stream_prefix).merchant_settings("allows"), "staff_may_refund", "1")
            await client.hset(RedisKeys(stream_prefix).merchant_settings("forbids"), "staff_may_refund", "0")
            return [
                (await strict.check("allows", "staff", "refund_order")).allowed,
                (await strict.check("unset", "staff", "refund_order")).allowed,
                (await lenient.check("forbids", "staff", "cancel_order")).allowed,
                (await lenient.check("unset", "staff", "cancel_order")).allowed,
                (await lenient.check("allows", "viewer", "refund_order")).allowed,
            ]
        finally:
            await client.aclose()

    assert asyncio.run(run()) == [True, False, False, True, False]
