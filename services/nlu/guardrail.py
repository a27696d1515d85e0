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

from services.nlu.replies import joined, language, render
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
    lang = language(chinese)
    parts: list[str] = []
    if price := _PRICE.search(refusal.reason):
        key = "guardrail_price_above" if price["way"] == "above" else "guardrail_price_below"
        fields = {name: price[name] for name in ("sku", "moved", "hours", "ref", "limit")}
        parts.append(render(key, lang, **fields))
    if bulk := _BULK.search(refusal.reason):
        parts.append(render("guardrail_bulk", lang, count=bulk["count"], limit=bulk["limit"]))
    if not parts:  # a reason this version cannot read: the catalog's own words, which are English
        parts.append(refusal.reason if lang == "en" else render("guardrail_other", lang))
    return render("guardrail_question", lang, reasons=joined(parts, lang, "list_separator"))


def ask(outcome: Outcome | None, decision: Decision, chinese: bool) -> gw.ServerMessage | None:
    """The confirmation question for a command a guardrail refused unconfirmed; None otherwise."""
    if outcome is None or decision.confirmed:
        return None
    refusal = refusal_of(outcome.grpc_code, outcome.detail)
    if refusal is None:
        return None
    prompt = gw.ConfirmationPrompt(prompt=question(refusal, chinese), command=decision.command, rule=refusal.rules)
    return gw.ServerMessage(confirmation=prompt)


# -- the policy, by voice ---------------------------------------------------------------------


def policy_text(policy: catalog_pb2.GuardrailPolicy, chinese: bool, changed: bool = False) -> str:
    return render(
        "policy_updated" if changed else "policy_now",
        language(chinese),
        percent=policy.price_change_percent,
        hours=policy.price_window_hours,
        bulk=policy.bulk_threshold,
    )


def limits(slots: cmd.SetGuardrail, chinese: bool) -> str:
    """The new limits said, "" when none: "the price change limit to 15%", "改价确认门槛设为15%"."""
    lang = language(chinese)
    said: list[str] = []
    if slots.HasField("price_change_percent"):
        said.append(render("limit_price", lang, percent=slots.price_change_percent))
    if slots.HasField("bulk_threshold"):
        said.append(render("limit_bulk", lang, count=slots.bulk_threshold))
    return joined(said, lang, "limit_separator")


def proposal(slots: cmd.SetGuardrail, chinese: bool) -> str:
    """The read-back of a new limit: a misheard limit would weaken the guardrail, so it is confirmed."""
    said = limits(slots, chinese)
    if not said:
        return ""  # nothing to set: the dispatcher says what is missing
    return render("guardrail_proposal", language(chinese), limits=said)
