"""How a conversation looks to a person in a terminal."""

from __future__ import annotations

import json

from google.protobuf import json_format

from shopvoice.common.v1.command_pb2 import Command
from shopvoice.gateway.v1 import gateway_pb2 as gw


def command_text(command: Command) -> str:
    intent = command.WhichOneof("intent") or "unknown"
    slots = json_format.MessageToDict(getattr(command, intent), preserving_proto_field_name=True)
    return f"{intent} {json.dumps(slots, ensure_ascii=False)}"


def line(message: gw.ServerMessage) -> str:
    kind = message.WhichOneof("kind")
    if kind == "transcript":
        mark = "heard" if message.transcript.is_final else "hearing"
        return f"  … {mark}: {message.transcript.text}"
    if kind == "understood":
        return f"  ✓ understood ({message.understood.source}): {command_text(message.understood.command)}"
    if kind == "confirmation":
        return f"  ? {message.confirmation.prompt}"
    if kind == "clarification":
        candidates = f" ({', '.join(message.clarification.candidates)})" if message.clarification.candidates else ""
        return f"  ? {message.clarification.prompt}{candidates}"
    if kind == "result":
        status = gw.ResultStatus.Name(message.result.status).removeprefix("RESULT_STATUS_").lower()
        return f"  → [{status}] {message.result.message}"
    if kind == "error":
        return f"  ! {message.error.code}: {message.error.message}"
    if kind == "started":
        return f"  session {message.started.session_id} for merchant {message.started.merchant_id}"
    return f"  {kind}"
