"""A command the LLM understood that changes data is proposed, never run at once.

The merchant hears it read back with its values, in their language ("将把 A100 的价格设为
89.00，确认吗？" / "Set the price of A100 to 89.00. Confirm?"), and it runs only after
"confirm". Questions run at once (permissions.READ_ONLY: an intent added to the contract
without a rule there is treated as changing data, so it asks: fail safe).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.nlu.dialogue import Decision, DialogueState, intent_of
from shopvoice.common.v1.command_pb2 import Command
from shopvoice.grammar.commands import command_to_json
from shopvoice.permissions import READ_ONLY

# intent -> (zh, en), formatted with the command's JSON slots; a slot a template names but the
# command lacks falls back to the generic read-back below.
_TEMPLATES: dict[str, tuple[str, str]] = {
    "set_price": ("将把{sku}的价格设为{price}", "Set the price of {sku} to {price}"),
    "adjust_price": ("将把{sku}的价格调整{change}", "Change the price of {sku} by {change}"),
    "set_stock": ("将把{sku}的库存设为{quantity}", "Set the stock of {sku} to {quantity}"),
    "adjust_stock": ("将把{sku}的库存调整{delta:+d}", "Change the stock of {sku} by {delta:+d}"),
    "create_product": ("将新建商品“{title}”，价格{price}", 'Create the product "{title}" at {price}'),
    "set_product_status": ("将把{sku}的状态设为{status}", "Set {sku} to {status}"),
    "confirm_order": ("将确认订单{order_id}", "Confirm order {order_id}"),
    "ship_order": ("将把订单{order_id}标记为已发货", "Mark order {order_id} as shipped"),
    "cancel_order": ("将取消订单{order_id}", "Cancel order {order_id}"),
    "refund_order": ("将给订单{order_id}退款", "Refund order {order_id}"),
    "undo": ("将撤销上一次修改", "Undo the last change"),
}


def _values(slots: Mapping[str, Any]) -> dict[str, Any]:
    values = dict(slots)
    if "percent" in values:
        values["change"] = f"{values['percent']}%"
    elif "delta" in values and isinstance(values["delta"], str):
        values["change"] = values["delta"] if values["delta"].startswith("-") else f"+{values['delta']}"
    return values


def _generic(intent: str, slots: Mapping[str, Any], chinese: bool) -> str:
    said = ", ".join(f"{k}={v if not isinstance(v, list) else ' '.join(map(str, v))}" for k, v in slots.items())
    return f"将执行 {intent}（{said}）" if chinese else f"Run {intent} ({said})"


def read_back(command: Command, chinese: bool) -> str:
    """The command with its values, as a question in the merchant's language."""
    as_json = command_to_json(command)
    intent, slots = as_json["intent"], as_json["slots"]
    text = ""
    if intent in _TEMPLATES:
        zh, en = _TEMPLATES[intent]
        try:
            text = (zh if chinese else en).format(**_values(slots))
        except (KeyError, ValueError):
            text = ""
        extras = {k: v for k, v in slots.items() if k in ("carrier", "tracking_number", "amount", "quantity")}
        if text and intent in ("ship_order", "refund_order", "create_product") and extras:
            text += (
                ("（" + "，".join(f"{k} {v}" for k, v in extras.items()) + "）")
                if chinese
                else (" (" + ", ".join(f"{k} {v}" for k, v in extras.items()) + ")")
            )
    if not text:
        text = _generic(intent, slots, chinese)
    return text + ("，确认吗？" if chinese else ". Confirm?")


def confirm_first(decision: Decision, state: DialogueState, said_intent: str, chinese: bool) -> Decision:
    """``decision`` for a command the LLM understood: one that would change data now is proposed instead.

    ``said_intent`` is what the utterance itself meant: a "confirm" executes what was proposed
    before (it was read back then) and is left alone.
    """
    if said_intent in ("confirm", "cancel"):
        return decision
    if decision.kind == "propose":  # already asks (destructive, past the guardrail): with the values read back
        values = read_back(decision.command, chinese).removesuffix("，确认吗？").removesuffix(". Confirm?")
        joined = f"{values}。{decision.prompt}" if chinese else f"{values}. {decision.prompt}"
        return Decision("propose", decision.command, decision.idempotency_id, prompt=joined)
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
