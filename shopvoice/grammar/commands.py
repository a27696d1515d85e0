"""Typed commands: slot values -> Command message, and Command -> docs/design.md JSON.

Both directions walk the proto descriptors, so a new intent in command.proto
needs sentences, not code: Money fields take a Decimal, enum fields take the
lowercase value name ("active", "last_7_days"), integer fields an int.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from shopvoice.common.v1.command_pb2 import Command, Unknown
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.grammar.slots import SlotValue
from shopvoice.text.amounts import format_money

_NANOS = Decimal(1_000_000_000)
_INT_TYPES = (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_INT32)
INTENTS: tuple[str, ...] = tuple(f.name for f in Command.DESCRIPTOR.oneofs_by_name["intent"].fields)


class CommandError(ValueError):
    """Slot values that do not fit the intent's message (a grammar file bug)."""


def decimal_to_money(value: Decimal) -> Money:
    """Exact Money for a Decimal amount; units and nanos share the sign."""
    units = int(value)
    nanos = int((value - units) * _NANOS)
    return Money(units=units, nanos=nanos)


def money_to_decimal(money: Money) -> Decimal:
    """The Decimal amount of a Money message."""
    return Decimal(money.units) + Decimal(money.nanos) / _NANOS


def enum_prefix(enum: EnumDescriptor) -> str:
    """PRODUCT_STATUS_ for ProductStatus: the proto style prefix of its values."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_name(enum: EnumDescriptor, value: int) -> str:
    """A value's name as the contract writes it: "this_week" for Period's PERIOD_THIS_WEEK."""
    return enum.values_by_number[value].name.removeprefix(enum_prefix(enum)).lower()


def negate(value: SlotValue) -> SlotValue:
    """The opposite change: 10 -> -10, "20" -> "-20"."""
    if isinstance(value, tuple):
        return value
    if isinstance(value, str):
        if value in ("0", ""):
            return value
        return value[1:] if value.startswith("-") else "-" + value
    return -value


def build_command(intent: str, values: Mapping[str, SlotValue]) -> Command:
    """The Command for ``intent`` with ``values`` set; CommandError when they do not fit."""
    if intent not in INTENTS:
        raise CommandError(f"unknown intent {intent!r}")
    command = Command()
    message = getattr(command, intent)
    message.SetInParent()
    descriptor: Descriptor = message.DESCRIPTOR
    for name, value in values.items():
        field = descriptor.fields_by_name.get(name)
        if field is None:
            raise CommandError(f"{intent} has no slot {name!r}")
        _set_field(message, field, value)
    return command


def _set_field(message: Message, field: FieldDescriptor, value: SlotValue) -> None:
    if field.is_repeated:
        items = value if isinstance(value, tuple) else (value,)
        getattr(message, field.name).extend(str(item) for item in items)
        return
    if isinstance(value, tuple):
        raise CommandError(f"{field.name} takes one value, got {len(value)}")
    if field.message_type is not None and field.message_type.full_name == Money.DESCRIPTOR.full_name:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        getattr(message, field.name).CopyFrom(decimal_to_money(amount))
    elif field.enum_type is not None:
        enum_value = field.enum_type.values_by_name.get(enum_prefix(field.enum_type) + str(value).upper())
        if enum_value is None:
            raise CommandError(f"{value!r} is not a {field.enum_type.name}")
        setattr(message, field.name, enum_value.number)
    elif field.type in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_INT32):
        if isinstance(value, Decimal) and value != value.to_integral_value():
            raise CommandError(f"{field.name} must be a whole number, got {value}")
        setattr(message, field.name, int(value))
    else:
        setattr(message, field.name, str(value))


def unknown_command(text: str) -> Command:
    """The command for text not understood: the original text, unchanged."""
    return Command(unknown=Unknown(text=text))


def intent_of(command: Command) -> str:
    """The name of the intent set in ``command`` ("unknown" when none is)."""
    return command.WhichOneof("intent") or "unknown"


def command_to_json(command: Command) -> dict[str, Any]:
    """``{"intent": NAME, "slots": {...}}`` exactly as docs/design.md prints it.

    Slots not said are absent; money is "99.00"; percent "-20"; enums lowercase
    names without their prefix; quantities and deltas integers.
    """
    intent = intent_of(command)
    slots: dict[str, Any] = {}
    if intent == "unknown":
        return {"intent": intent, "slots": {"text": command.unknown.text}}
    if command.WhichOneof("intent") is not None:
        message = getattr(command, intent)
        for field, value in message.ListFields():
            slots[field.name] = _json_value(field, value)
        for field in message.DESCRIPTOR.fields:
            # A required count said as zero ("库存设为0") is still said.
            if field.name not in slots and not field.has_presence and field.type in _INT_TYPES:
                slots[field.name] = getattr(message, field.name)
    return {"intent": intent, "slots": slots}


def _json_value(field: FieldDescriptor, value: Any) -> Any:
    if field.is_repeated:
        return list(value)
    if isinstance(value, Money):
        return format_money(money_to_decimal(value))
    if field.enum_type is not None:
        return enum_name(field.enum_type, value)
    return value
