"""How each slot of a typed command is spelled in JSON, read off the proto descriptor.

One walk of shopvoice.common.v1.Command's descriptor serves both the schema the model
is constrained by (schema.py) and the conversion of its answer (convert.py): a new
intent or slot in command.proto reaches the LLM path without code here, as long as
its fields are money, enums, integers or strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor

from shopvoice.common.v1.command_pb2 import Command
from shopvoice.common.v1.money_pb2 import Money

# Enum slots the model must fill. Every other enum's UNSPECIFIED means "any" or "not said"
# (command.proto says so in comments, which a descriptor does not carry: list_orders' status,
# a bulk selection's status, a comparison period, a report's period that the dialogue asks
# for), so it may be left out, and a model is not pushed into inventing one.
REQUIRED_ENUM_SLOTS = frozenset(
    {("set_product_status", "status"), ("sales_report", "metric"), ("export_report", "report")}
)
# Money and integer slots that may be negative: changes, not amounts.
SIGNED_SLOTS = frozenset({"delta"})
INTENT_ONEOF = Command.DESCRIPTOR.oneofs_by_name["intent"]
INTENTS: tuple[str, ...] = tuple(field.name for field in INTENT_ONEOF.fields)


@dataclass(frozen=True, slots=True)
class SlotSpec:
    """One field of an intent's message as a JSON slot."""

    field: FieldDescriptor
    required: bool
    choice: str | None  # the real oneof it belongs to (adjust_price's "change"), if any

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def is_money(self) -> bool:
        return self.field.message_type is not None and self.field.message_type.full_name == Money.DESCRIPTOR.full_name

    @property
    def enum(self) -> EnumDescriptor | None:
        return self.field.enum_type

    @property
    def is_integer(self) -> bool:
        return self.field.type in (
            FieldDescriptor.TYPE_INT64,
            FieldDescriptor.TYPE_INT32,
            FieldDescriptor.TYPE_UINT32,
            FieldDescriptor.TYPE_UINT64,
        )

    @property
    def signed(self) -> bool:
        return self.name in SIGNED_SLOTS

    @property
    def is_list(self) -> bool:
        """A repeated field (`skus`): a JSON array in the order said."""
        return bool(self.field.is_repeated)


def _supported(field: FieldDescriptor) -> bool:
    """Money, enums, integers and strings, alone or repeated (not nested messages or maps)."""
    if field.message_type is not None:
        return field.message_type.full_name == Money.DESCRIPTOR.full_name and not field.is_repeated
    return True


def _is_synthetic(field: FieldDescriptor) -> bool:
    """proto3 `optional` wraps a field in a one-member oneof named after it."""
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == f"_{field.name}"


def intent_message(intent: str) -> Descriptor:
    field = Command.DESCRIPTOR.fields_by_name[intent]
    assert field.message_type is not None
    return field.message_type


def slot_specs(intent: str) -> Iterator[SlotSpec]:
    """The slots of ``intent`` in field order (a field of a kind JSON cannot carry is left out).

    ``unknown`` has none for the model: its text is the utterance as said, which the parser
    keeps; having the model echo it costs one generated token per word.
    """
    if intent == "unknown":
        return
    for field in intent_message(intent).fields:
        if not _supported(field):
            continue
        if field.is_repeated or _is_synthetic(field):
            yield SlotSpec(field, required=False, choice=None)
        elif field.containing_oneof is not None:
            yield SlotSpec(field, required=True, choice=field.containing_oneof.name)
        else:
            optional = field.enum_type is not None and (intent, field.name) not in REQUIRED_ENUM_SLOTS
            yield SlotSpec(field, required=not optional, choice=None)


def enum_prefix(enum: EnumDescriptor) -> str:
    """PRODUCT_STATUS_ for ProductStatus: the prefix proto style puts on its values."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_names(enum: EnumDescriptor) -> list[str]:
    """The values as JSON spells them: lowercase, unprefixed, UNSPECIFIED left out."""
    prefix = enum_prefix(enum)
    return [v.name.removeprefix(prefix).lower() for v in enum.values if v.number != 0]


def enum_name(enum: EnumDescriptor, number: int) -> str:
    return enum.values_by_number[number].name.removeprefix(enum_prefix(enum)).lower()


def enum_number(enum: EnumDescriptor, name: str) -> int | None:
    """The number of a JSON enum name; None for an unknown name or "unspecified"."""
    value = enum.values_by_name.get(enum_prefix(enum) + name.upper()) if name.islower() else None
    return value.number if value is not None and value.number != 0 else None
