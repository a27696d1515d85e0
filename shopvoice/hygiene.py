"""What text may hold when it crosses an edge: no NUL, no lone surrogates, no control characters.

Postgres refuses NUL in text (and a COPY with one fails the whole batch); a lone surrogate cannot
be encoded as UTF-8 at all; control characters garble logs and terminals and are never part of
a command or a question. Tab, newline and carriage return are allowed (pasted text has them).
Invalid UTF-8 never reaches Python as text: protobuf refuses it while parsing, and the gRPC
bootstrap answers that with INVALID_ARGUMENT.

`grpc_server` checks every string field of every unary request with `message_problem` before
the handler runs, so every service that stores text refuses with INVALID_ARGUMENT and writes
nothing; the gateway checks each frame of its Converse stream the same way.
"""

from __future__ import annotations

import re

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_ALLOWED_CONTROLS = "\t\n\r"
# C0 controls but tab/newline/CR, DEL, C1 controls, lone (unpaired) surrogates, and the two
# non-characters U+FFFE/U+FFFF that no text means.
_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _name(char: str) -> str:
    code = ord(char)
    if code == 0:
        return "a NUL character"
    if 0xD800 <= code <= 0xDFFF:
        return f"a lone surrogate (U+{code:04X})"
    return f"a control character (U+{code:04X})"


def text_problem(text: str) -> str | None:
    """What is wrong with `text` for a person to fix, or None when it is fine."""
    found = _BAD.search(text)
    if found is None:
        return None
    return f"contains {_name(found.group())} at position {found.start()}; send plain text"


def message_problem(message: Message, path: str = "") -> str | None:
    """The first string field of `message` (nested, repeated, map values included) that holds
    text `text_problem` refuses, as "field 'ask.text' contains ...", or None."""
    for field, value in message.ListFields():
        name = f"{path}{field.name}"
        if field.type == FieldDescriptor.TYPE_STRING:
            values = value if field.is_repeated else (value,)
            for item in values:
                problem = text_problem(item)
                if problem:
                    return f"field '{name}' {problem}"
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    for part in (key, item):
                        if isinstance(part, str) and (problem := text_problem(part)):
                            return f"field '{name}' {problem}"
                        if isinstance(part, Message) and (problem := message_problem(part, f"{name}.")):
                            return problem
            elif field.is_repeated:
                for item in value:
                    problem = message_problem(item, f"{name}.")
                    if problem:
                        return problem
            else:
                problem = message_problem(value, f"{name}.")
                if problem:
                    return problem
    return None
