"""The catalog's guardrails, seen from the dialogue: a refusal becomes a question, a yes
becomes a confirmation naming who gave it, and the policy is read and set by voice.

The catalog refuses a change a rule asks about with FAILED_PRECONDITION and a message
"needs confirmation (<rules>): <reason>; ..." (services/catalog/guardrails.py). Nothing
was written, so the same command, with the same idempotency key, can be proposed to the
merchant; their "confirm" resends it with `Mutation.confirmation` set to their identity.

NLU_CONFIRM_PRICE_CHANGE_PCT (the dialogue's own check of a single price change, against
misheard values) stays, and cannot contradict the policy: the catalog is the authority on
what needs a confirmation, and whichever asks first, the merchant is asked once, and
their answer reaches the catalog as the confirmation (docs/design.md, Guardrails).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.nlu.replies_text import pick
from shopvoice.catalog.v1 import catalog_pb2
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.gateway.v1 import gateway_pb2 as gw

if TYPE_CHECKING:  # both import this module
    from services.nlu.dialogue import Decision
    from services.nlu.dispatch import Outcome

PREFIX = re.compile(r"^needs confirmation \(([a-z_,]+)\): (.*?)(?:; resend with a confirmation.*)?$", re.S)
_PRICE = re.compile(
    r"(?P<sku>\S+) would be (?P<moved>[\d.]+|infinitely)% (?P<way>above|below) (?P<ref>[\d.]+),"
    r" its (?:lowest|highest) price in the last (?P<hours>\d+) h \(limit (?P<limit>[\d.]+)%\)"
)
_BULK = re.compile(r"the change covers (?P<count>\d+) products \(limit (?P<limit>\d+)")


@dataclass(frozen=True)
class Refusal:
    """A guardrail's refusal: which rules asked, and the catalog's reason."""

    rules: str
    reason: str


def refusal_of(grpc_code: str, message: str) -> Refusal | None:
    """The guardrail refusal in an owning service's answer, or None (another kind of refusal)."""
    if grpc_code != "FAILED_PRECONDITION":
        return None
    found = PREFIX.match(message)
    return Refusal(found.group(1), found.group(2)) if found else None


def question(refusal: Refusal, chinese: bool) -> str:
    """The confirmation question, in the merchant's language, from the catalog's reason."""
    parts: list[str] = []
    if price := _PRICE.search(refusal.reason):
        moved, limit, hours, ref, sku = (price["moved"], price["limit"], price["hours"], price["ref"], price["sku"])
        up = price["way"] == "above"
        parts.append(
            pick(
                chinese,
                f"{sku}的价格将比{hours}小时内的{'最低价' if up else '最高价'}{ref}"
                f"{'高' if up else '低'}{moved}%（确认门槛{limit}%）",
                f"{sku} would be {moved}% {'above its lowest' if up else 'below its highest'} price"
                f" of the last {hours} hours ({ref}; the limit is {limit}%)",
            )
        )
    if bulk := _BULK.search(refusal.reason):
        parts.append(
            pick(
                chinese,
                f"这次会修改{bulk['count']}个商品（超过{bulk['limit']}个需要确认）",
                f"this changes {bulk['count']} products (over {bulk['limit']} need a confirmation)",
            )
        )
    if not parts:  # a reason this version cannot read: the catalog's own words
        parts.append(refusal.reason)
    if chinese:
        return "；".join(parts) + "，需要您确认，确认吗？"
    return "; ".join(parts) + ". This needs your confirmation. Confirm?"


def ask(outcome: Outcome | None, decision: Decision, chinese: bool) -> gw.ServerMessage | None:
    """The confirmation question for a command a guardrail refused unconfirmed; None otherwise."""
    if outcome is None or decision.confirmed:
        return None
    refusal = refusal_of(outcome.grpc_code, outcome.message)
    if refusal is None:
        return None
    prompt = gw.ConfirmationPrompt(prompt=question(refusal, chinese), command=decision.command, rule=refusal.rules)
    return gw.ServerMessage(confirmation=prompt)


# -- the policy, by voice ---------------------------------------------------------------------


def policy_text(policy: catalog_pb2.GuardrailPolicy, chinese: bool, changed: bool = False) -> str:
    percent, hours, bulk = policy.price_change_percent, policy.price_window_hours, policy.bulk_threshold
    if chinese:
        head = "已更新确认门槛：" if changed else "当前确认门槛："
        return f"{head}{hours}小时内累计改价超过{percent}%、批量修改超过{bulk}个商品时需要确认"
    head = "Confirmation limits updated: " if changed else "Your confirmation limits: "
    return (
        f"{head}a price moving more than {percent}% within {hours} hours, or a bulk change of more than"
        f" {bulk} products, needs a confirmation"
    )


def proposal(slots: cmd.SetGuardrail, chinese: bool) -> str:
    """The read-back of a new limit: a misheard limit would weaken the guardrail, so it is confirmed."""
    zh: list[str] = []
    en: list[str] = []
    if slots.HasField("price_change_percent"):
        zh.append(f"改价确认门槛设为{slots.price_change_percent}%")
        en.append(f"the price change limit to {slots.price_change_percent}%")
    if slots.HasField("bulk_threshold"):
        zh.append(f"批量确认门槛设为{slots.bulk_threshold}个商品")
        en.append(f"the bulk change limit to {slots.bulk_threshold} products")
    if not zh:
        return ""  # nothing to set: the dispatcher says what is missing
    return pick(chinese, "将把" + "，".join(zh) + "，确认吗？", "This sets " + " and ".join(en) + ". Confirm?")
