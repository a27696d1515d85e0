"""A command the LLM understood that changes data is proposed, never run at once.

The merchant hears it read back with its values, in their language ("将把 A100 的价格设为
89.00，确认吗？" / "Set the price of A100 to 89.00. Confirm?"), and it runs only after
"confirm". Questions run at once (permissions.READ_ONLY: an intent added to the contract
without a rule there is treated as changing data, so it asks: fail safe).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.nlu.dialogue import Decision, DialogueState, bulk_change_words, intent_of, readback
from services.nlu.replies import TABLES, Language, joined, language, render, word
from shopvoice.common.v1.command_pb2 import Command
from shopvoice.grammar.commands import command_to_json
from shopvoice.permissions import READ_ONLY

# Intents with a read-back of their own (services/nlu/replies: confirm_<intent>), formatted with
# the command's JSON slots; a slot a template names but the command lacks falls back to the
# dialogue's read-back of the command.
_TEMPLATED = frozenset(
    field.name
    for field in Command.DESCRIPTOR.oneofs_by_name["intent"].fields
    if f"confirm_{field.name}" in TABLES["en"]["text"]
)
_EXTRAS = ("carrier", "tracking_number", "amount", "quantity")  # said beside what the template names


def _values(slots: Mapping[str, Any], lang: Language) -> dict[str, Any]:
    values = dict(slots)
    if "percent" in values:
        values["change"] = f"{values['percent']}%"
    elif "delta" in values and isinstance(values["delta"], str):
        values["change"] = values["delta"] if values["delta"].startswith("-") else f"+{values['delta']}"
    if isinstance(values.get("delta"), int):
        values["delta"] = f"{values['delta']:+d}"
    if "status" in values:
        values["status"] = word("status_said", str(values["status"]), lang)
    if "carrier" in values:
        values["carrier"] = word("carrier", str(values["carrier"]), lang)
    return values


def said(command: Command, chinese: bool) -> str:
    """The command with its values, in the merchant's language (no question)."""
    lang = language(chinese)
    as_json = command_to_json(command)
    intent, slots = as_json["intent"], as_json["slots"]
    values = _values(slots, lang)
    text = ""
    if intent == "undo" and int(slots.get("count", 1)) > 1:
        text = render("confirm_undo_several", lang, count=slots["count"])  # not "the last change"
    elif intent in _TEMPLATED:
        try:
            text = render(f"confirm_{intent}", lang, **values)
        except (KeyError, ValueError):
            text = ""
        extras = [render(f"extra_{k}", lang, **{k: values[k]}) for k in _EXTRAS if k in slots]
        if text and intent in ("ship_order", "refund_order", "create_product") and extras:
            text += render("confirm_extras", lang, extras=joined(extras, lang))
    if not text:
        text = bulk_change_words(command, chinese) if intent.startswith("bulk_") else readback(command, chinese)
        text = text[:1].upper() + text[1:]
    return text


def read_back(command: Command, chinese: bool) -> str:
    """The command with its values, as a question in the merchant's language."""
    return render("confirm_question", language(chinese), reason=said(command, chinese))


def confirm_first(decision: Decision, state: DialogueState, said_intent: str, chinese: bool) -> Decision:
    """``decision`` for a command understood by a guess (the LLM, a price said in two groups): one that
    would change data now is proposed instead.

    ``said_intent`` is what the utterance itself meant: a "confirm" executes what was proposed
    before (it was read back then) and is left alone.
    """
    if said_intent in ("confirm", "cancel"):
        return decision
    if decision.kind == "propose":  # already asks (destructive, past the guardrail): with the values read back
        prompt = render("said_then", language(chinese), said=said(decision.command, chinese), prompt=decision.prompt)
        return Decision("propose", decision.command, decision.idempotency_id, prompt=prompt)
    if decision.kind != "execute":
        return decision
    if intent_of(decision.command) in READ_ONLY:
        return decision
    state.pending, state.pending_id = decision.command, decision.idempotency_id
    return Decision("propose", decision.command, decision.idempotency_id, prompt=read_back(decision.command, chinese))


def context_line(state: DialogueState) -> str:
    """What the model may use for "it" / "that order": the product and order just discussed."""
    parts = []
    if state.last_sku:
        parts.append(f"product just discussed {state.last_sku}")
    if state.last_order_id:
        parts.append(f"order just discussed {state.last_order_id}")
    return ", ".join(parts)
