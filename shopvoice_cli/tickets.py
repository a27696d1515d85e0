"""`shopvoice tickets list|show|reply|close`: the shop's staff and the customers' tickets.

    shopvoice tickets list [--status open|closed|any]
    shopvoice tickets show 12
    shopvoice tickets reply 12 "Sorry about that, a new zip is on its way"
    shopvoice tickets close 12

Talks to the support service's SupportAdmin (--support, else SUPPORT_ADDR, else the local
stack's), for --merchant as --user. A reply reaches the customer in their conversation:
with their next answer, or at once where their app waits for it (`shopvoice ask --wait`).
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from typing import Any

from shopvoice import identity
from shopvoice_cli import demo_shop

SUPPORT = os.environ.get("SUPPORT_ADDR", "127.0.0.1:50056")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "show", "reply", "close"))
    parser.add_argument("ticket", nargs="?", default="", help="the ticket's number (show, reply, close)")
    parser.add_argument("text", nargs="*", help="reply: what the customer will read")
    parser.add_argument("--status", choices=("open", "closed", "any"), default="open", help="list: which tickets")
    parser.add_argument(
        "--support", default=SUPPORT, help="support host:port (default SUPPORT_ADDR, else the local stack's)"
    )
    parser.add_argument("--merchant", default=demo_shop.MERCHANT_ID)
    parser.add_argument("--user", default="staff-1", help="who replies or closes (recorded with the reply)")
    parser.add_argument("--json", action="store_true", help="one JSON object per ticket")


def _row(ticket: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    row: dict[str, Any] = MessageToDict(ticket, preserving_proto_field_name=True)
    return row


def _print(ticket: Any, as_json: bool, turns: bool) -> None:
    if as_json:
        print(json.dumps(_row(ticket), ensure_ascii=False), flush=True)
        return
    status = "open" if ticket.status == 1 else "closed"
    print(f"ticket {ticket.ticket_id} [{status}] customer {ticket.customer_id}: {ticket.reason}", flush=True)
    if turns:
        for turn in ticket.conversation:
            print(f"  {turn.role}: {turn.text}", flush=True)


def run(args: argparse.Namespace) -> int:
    from shopvoice.common.v1.mutation_pb2 import Actor, Mutation
    from shopvoice.support.v1 import support_pb2 as pb
    from shopvoice.support.v1 import support_pb2_grpc
    from shopvoice_cli.errors import CliError

    if args.action != "list" and not args.ticket:
        raise CliError(f"tickets {args.action} needs a ticket number (see `shopvoice tickets list`)", exit_code=2)
    if args.action == "reply" and not " ".join(args.text).strip():
        raise CliError("tickets reply needs the text of the reply", exit_code=2)
    mutation = Mutation(
        merchant_id=args.merchant,
        idempotency_key=f"cli:{uuid.uuid4().hex}",
        actor=Actor(user_id=args.user, role="staff"),
    )
    with identity.sync_channel(args.support) as channel:
        admin = support_pb2_grpc.SupportAdminStub(channel)
        if args.action == "list":
            status = {"open": pb.TICKET_STATUS_OPEN, "closed": pb.TICKET_STATUS_CLOSED}.get(args.status, 0)
            reply = admin.ListTickets(
                pb.ListTicketsRequest(merchant_id=args.merchant, status=status),  # type: ignore[arg-type]
                timeout=10,
            )
            for ticket in reply.tickets:
                _print(ticket, args.json, turns=False)
            if not reply.tickets and not args.json:
                print(f"no {'' if args.status == 'any' else args.status + ' '}tickets", flush=True)
            return 0
        if args.action == "show":
            ticket = admin.GetTicket(pb.GetTicketRequest(merchant_id=args.merchant, ticket_id=args.ticket), timeout=10)
        elif args.action == "reply":
            ticket = admin.ReplyToTicket(
                pb.ReplyToTicketRequest(mutation=mutation, ticket_id=args.ticket, text=" ".join(args.text)), timeout=10
            )
        else:
            ticket = admin.CloseTicket(pb.CloseTicketRequest(mutation=mutation, ticket_id=args.ticket), timeout=10)
        _print(ticket, args.json, turns=True)
    return 0
