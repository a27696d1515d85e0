"""How a conversation looks to a person in a terminal."""

from __future__ import annotations

import json

from shopvoice.common.v1.command_pb2 import Command
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice_cli.client import Turn


def command_text(command: Command) -> str:
    """docs/design.md's form: intent and its slots, money as "99.00"."""
    from shopvoice.grammar.commands import command_to_json

    as_json = command_to_json(command)
    return f"{as_json['intent']} {json.dumps(as_json['slots'], ensure_ascii=False)}"


def went_well(turn: Turn) -> bool:
    """A turn the merchant would call fine: a result that is OK or cancelled as asked,
    or a question back (a confirmation or a clarification)."""
    final = turn.final
    if final is None:
        return False
    kind = final.WhichOneof("kind")
    if kind in ("confirmation", "clarification"):
        return True
    return kind == "result" and final.result.status in (gw.RESULT_STATUS_OK, gw.RESULT_STATUS_CANCELLED)


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
    if kind == "alert":
        return f"  ! alert: {message.alert.message}"
    if kind == "started":
        return f"  session {message.started.session_id} for merchant {message.started.merchant_id}"
    return f"  {kind}"
