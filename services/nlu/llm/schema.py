"""The JSON schema of docs/design.md's `{"intent": NAME, "slots": {...}}`, generated from command.proto.

vLLM constrains decoding with it (structured outputs), so the model can only emit
one of the intents with that intent's slots in their contract spelling: money as
"99.00", enums as lowercase names, order ids as digits, SKU codes upper-case. The
schema narrows what the model can say; validate.py still decides what may run.

One branch per intent (anyOf) ties the slots to the intent; adjust_price's
percent-or-delta oneof becomes one branch per choice inside its slots.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from typing import Any

from services.nlu.llm.slots import INTENTS, SlotSpec, enum_names, slot_specs
from shopvoice.grammar import contract as rules

JsonSchema = dict[str, Any]


def portable(regex: str) -> str:
    """The regex in the subset every server's schema-to-grammar converter reads: llama.cpp's
    cannot parse an escaped dot (its grammar fails to load and the server process dies), so
    a literal dot is written as a class."""
    return regex.replace("\\.", "[.]").replace("\\d", "[0-9]")


def _pattern(regex: str) -> JsonSchema:
    return {"type": "string", "pattern": f"^{portable(regex)}$"}


# Strings by slot name: the domain's formats, from the rules validate() applies.
_STRING_SLOTS: dict[str, JsonSchema] = {
    "sku": {"type": "string", "minLength": 1, "maxLength": rules.MAX_SKU_CHARS},
    "order_id": _pattern(rules.ORDER_ID),
    "carrier": {"type": "string", "enum": list(rules.CARRIERS)},
    "tracking_number": _pattern(rules.TRACKING_NUMBER),
    "percent": _pattern(rules.PERCENT),
    "price_change_percent": _pattern(rules.PERCENT),
    "fraction": _pattern(rules.FRACTION),  # "0.5", never "half": the model wrote that once
    "title": {"type": "string", "minLength": 1, "maxLength": rules.MAX_TITLE_CHARS},
    "text": {"type": "string", "maxLength": rules.MAX_TEXT_CHARS},
}
_PLAIN_STRING: JsonSchema = {"type": "string", "maxLength": rules.MAX_TITLE_CHARS}


def slot_schema(spec: SlotSpec) -> JsonSchema:
    """The schema of one slot's value (a repeated slot: an array of them)."""
    if spec.is_list:
        if spec.enum is not None:
            item: JsonSchema = {"type": "string", "enum": enum_names(spec.enum)}
        else:
            item = dict(_STRING_SLOTS.get(spec.name.removesuffix("s"), _PLAIN_STRING))
        return {"type": "array", "items": item, "maxItems": 50}
    if spec.is_money:
        return _pattern(rules.SIGNED_MONEY if spec.signed else rules.MONEY)
    if spec.enum is not None:
        return {"type": "string", "enum": enum_names(spec.enum)}
    if spec.is_integer:
        return {"type": "integer", "minimum": -rules.MAX_QUANTITY if spec.signed else 0, "maximum": rules.MAX_QUANTITY}
    return dict(_STRING_SLOTS.get(spec.name, _PLAIN_STRING))


def _object(specs: list[SlotSpec]) -> JsonSchema:
    return {
        "type": "object",
        "properties": {spec.name: slot_schema(spec) for spec in specs},
        "required": [spec.name for spec in specs if spec.required],
        "additionalProperties": False,
    }


def slots_schema(intent: str) -> JsonSchema:
    """The schema of ``intent``'s slots; one branch per member of a oneof."""
    specs = list(slot_specs(intent))
    plain = [s for s in specs if s.choice is None]
    choices: dict[str, list[SlotSpec]] = {}
    for spec in specs:
        if spec.choice is not None:
            choices.setdefault(spec.choice, []).append(spec)
    if not choices:
        return _object(plain)
    if len(choices) > 1:
        raise NotImplementedError(f"{intent}: more than one oneof in an intent's message")
    (members,) = choices.values()
    return {"anyOf": [_object([*plain, member]) for member in members]}


def intent_schema(intent: str) -> JsonSchema:
    return {
        "type": "object",
        "properties": {"intent": {"type": "string", "enum": [intent]}, "slots": slots_schema(intent)},
        "required": ["intent", "slots"],
        "additionalProperties": False,
    }


@cache
def _schema() -> JsonSchema:
    return {
        "title": "Command",
        "description": "One typed command of a merchant's utterance (shopvoice docs/design.md).",
        "anyOf": [intent_schema(intent) for intent in INTENTS],
    }


def command_json_schema(skus: Sequence[str] | None = None) -> JsonSchema:
    """The schema for every intent of the Command oneof (a fresh copy: callers may mutate it).

    With ``skus``, a product can only be one of them (the catalog candidates of this utterance
    and the codes it contains), so the model cannot invent a product; an empty list leaves the
    plain SKU string (the grounding check drops a code that was not said).
    """
    schema = copy.deepcopy(_schema())
    if skus:
        _restrict_skus(schema, sorted(set(skus)))
    return schema


def _restrict_skus(node: Any, skus: list[str]) -> None:
    if isinstance(node, dict):
        properties = node.get("properties")
        if isinstance(properties, dict):
            if "sku" in properties:
                properties["sku"] = {"type": "string", "enum": list(skus)}
            if isinstance(properties.get("skus"), dict):
                properties["skus"]["items"] = {"type": "string", "enum": list(skus)}
        for value in node.values():
            _restrict_skus(value, skus)
    elif isinstance(node, list):
        for value in node:
            _restrict_skus(value, skus)
