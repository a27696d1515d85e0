"""docs/design.md's JSON shape <-> the Command proto, walking the descriptor (slots.py).

json_to_command is strict about shape and types (a money string, not a float; an
integer, not "5"; a known enum name) and raises CommandJsonError with what is wrong;
whether the values obey the contract (two decimals, ranges, SKU format) is
validate()'s question, asked afterwards, exactly as for a grammar answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from google.protobuf.message import Message

from services.nlu.llm.slots import INTENTS, SlotSpec, enum_number, slot_specs
from shopvoice.common.v1.command_pb2 import Command
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.grammar.contract import money_value

_DECIMAL = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,9})?")
_NANOS = Decimal(1_000_000_000)
_INT64 = 2**63 - 1


class CommandJsonError(ValueError):
    """A JSON answer that is not a command of the contract's shape; says what is wrong."""


def money_from_string(text: str) -> Money:
    """Money for "99.00" or "-10.5"; units and nanos share the sign, nothing is rounded."""
    if not _DECIMAL.fullmatch(text):
        raise CommandJsonError(f"money must be a decimal string like '99.00', got {text[:40]!r}")
    value = Decimal(text)
    units = int(value)
    return Money(units=units, nanos=int((value - units) * _NANOS))


def money_to_string(money: Money) -> str:
    """ "99.00": two decimals, more only when the amount has more (never rounded away)."""
    value = money_value(money)
    cents = value.quantize(Decimal("0.01"))
    return f"{cents if cents == value else value.normalize():f}"


def _set_slot(message: Message, spec: SlotSpec, value: Any) -> None:
    name = spec.name
    if spec.is_list:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise CommandJsonError(f"{name} must be a list of strings")
        getattr(message, name).extend(value)
    elif spec.is_money:
        if not isinstance(value, str):
            raise CommandJsonError(f"{name} must be a string like '99.00', got {type(value).__name__}")
        getattr(message, name).CopyFrom(money_from_string(value))
    elif spec.enum is not None:
        number = enum_number(spec.enum, value) if isinstance(value, str) else None
        if number is None:
            raise CommandJsonError(f"{name} must be one of the known names, got {str(value)[:40]!r}")
        setattr(message, name, number)
    elif spec.is_integer:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CommandJsonError(f"{name} must be an integer, got {type(value).__name__}")
        if not -_INT64 <= value <= _INT64:
            raise CommandJsonError(f"{name} does not fit 64 bits")
        setattr(message, name, value)
    else:
        if not isinstance(value, str):
            raise CommandJsonError(f"{name} must be a string, got {type(value).__name__}")
        setattr(message, name, value)


def json_to_command(obj: Any) -> Command:
    """The Command for ``{"intent": NAME, "slots": {...}}``; CommandJsonError when the shape is wrong."""
    if not isinstance(obj, Mapping):
        raise CommandJsonError("a command is a JSON object")
    extra = set(obj) - {"intent", "slots"}
    if extra:
        raise CommandJsonError(f"unexpected keys {sorted(extra)}")
    intent = obj.get("intent")
    if intent not in INTENTS:
        raise CommandJsonError(f"unknown intent {str(intent)[:40]!r}")
    slots = obj.get("slots", {})
    if not isinstance(slots, Mapping):
        raise CommandJsonError("slots must be a JSON object")
    command = Command()
    message = getattr(command, intent)
    message.SetInParent()
    if intent == "unknown":
        return command  # whatever the model echoed: the parser keeps the utterance as said
    specs = {spec.name: spec for spec in slot_specs(intent)}
    chosen: dict[str, str] = {}
    for name, value in slots.items():
        spec = specs.get(name)
        if spec is None:
            raise CommandJsonError(f"{intent} has no slot {str(name)[:40]!r}")
        if spec.choice is not None:
            if spec.choice in chosen:
                raise CommandJsonError(f"{intent} takes {chosen[spec.choice]} or {name}, not both")
            chosen[spec.choice] = name
        _set_slot(message, spec, value)
    return command
