"""Who may do what: the role × intent policy, in one place.

The gateway authenticates (the token says merchant, user and role) but only the
NLU knows what an utterance means, so the NLU asks `PermissionGate.check` after
parsing and before dispatching. The decision itself (`decide`) is a pure
function of role, intent and one merchant setting, so it reads as the policy
table it is and is tested exhaustively.

Roles:
- owner: everything.
- staff: everything except cancel_order and refund_order, unless the merchant
  allows staff to (per-merchant Redis setting, default STAFF_MAY_REFUND).
- viewer: questions only; no intent that changes anything (undo included).
- set_guardrail (the shop's confirmation limits): the owner only; anyone may ask what they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopvoice.redis_keys import RedisKeys

# Roles of a merchant's people; they use the merchant assistant (the intent table below).
MERCHANT_ROLES = ("owner", "staff", "viewer")
# Every role a token may carry: a shop's customer uses only the customer channel
# (services/support), never a merchant intent.
ROLES = (*MERCHANT_ROLES, "customer")

# Intents that only read. Dialogue turns (confirm, cancel, unknown) change nothing
# by themselves: what they confirm was checked when it was first said.
READ_ONLY = frozenset(
    {
        "query_stock",
        "query_product",
        "query_order",
        "list_orders",
        "sales_report",
        "list_products",
        "low_stock",
        "export_report",
        "query_guardrail",
        "confirm",
        "cancel",
        "unknown",
    }
)
# The shop's own rules (the guardrails' confirmation limits): the owner alone.
OWNER_ONLY = frozenset({"set_guardrail"})
# Money going back to a customer or an order going away: owner, or staff where allowed.
MONEY_BACK = frozenset({"cancel_order", "refund_order"})
# Everything else in docs/design.md's table changes the shop.
MUTATING = frozenset(
    {
        "set_price",
        "adjust_price",
        "set_stock",
        "adjust_stock",
        "create_product",
        "set_product_status",
        "confirm_order",
        "ship_order",
        "undo",
        "set_product_fact",
        "bulk_set_price",
        "bulk_adjust_price",
        "bulk_set_stock",
        "bulk_adjust_stock",
    }
)
INTENTS = READ_ONLY | MONEY_BACK | MUTATING | OWNER_ONLY


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""  # for a denial: why, in English (logs; the NLU words it for the person by `rule`)
    rule: str = ""  # for a denial, the rule that denied: role, intent, viewer, owner_only, money_back


def decide(role: str, intent: str, staff_may_refund: bool) -> Decision:
    """The policy table. Unknown roles and unknown intents are denied (fail closed)."""
    if role not in MERCHANT_ROLES:
        return Decision(False, f"role {role!r} is not one of {', '.join(MERCHANT_ROLES)}", "role")
    if intent not in INTENTS:
        return Decision(False, f"intent {intent!r} has no permission rule", "intent")
    if role == "owner" or intent in READ_ONLY:
        return Decision(True)
    if role == "viewer":
        return Decision(False, f"a viewer may only ask questions; {intent} changes the shop (ask the owner)", "viewer")
    if intent in OWNER_ONLY:
        return Decision(
            False, f"{role} may not {intent}: only the owner may change the confirmation limits", "owner_only"
        )
    if intent in MONEY_BACK and not staff_may_refund:
        return Decision(
            False,
            f"staff may not {intent.removesuffix('_order')} orders in this shop (the owner can allow it)",
            "money_back",
        )
    return Decision(True)


class PermissionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    staff_may_refund: bool = Field(
        False, alias="STAFF_MAY_REFUND", description="default for merchants without their own setting"
    )


class PermissionGate:
    """The policy plus the merchant setting it needs, read from Redis only when it matters."""

    def __init__(self, redis: aioredis.Redis, prefix: str, staff_may_refund_default: bool) -> None:
        self.redis = redis
        self.prefix = prefix
        self.default = staff_may_refund_default

    async def staff_may_refund(self, merchant_id: str) -> bool:
        value = await self.redis.hget(RedisKeys(self.prefix).merchant_settings(merchant_id), "staff_may_refund")
        if value is None:
            return self.default
        return bool(value in (b"1", b"true", "1", "true"))

    async def check(self, merchant_id: str, role: str, intent: str) -> Decision:
        # Only staff asking for money back needs the merchant's setting: one round trip then, none otherwise.
        needs_setting = role == "staff" and intent in MONEY_BACK
        allowed = await self.staff_may_refund(merchant_id) if needs_setting else self.default
        return decide(role, intent, allowed)
