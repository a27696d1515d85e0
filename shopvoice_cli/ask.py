"""`shopvoice ask`: a shop customer's session on the customer channel (CustomerAssistant).

    shopvoice ask "do you ship to Canada" "how much is the thermos"
    shopvoice ask --conversation C --wait 60        # wait for a person's reply after a hand-off
    shopvoice ask                                   # interactive: one question per line

Every question goes through the gateway with a customer token (SHOPVOICE_TOKEN, else a
development token for --merchant and --customer), in one conversation: --conversation
resumes one, otherwise a new id is made and printed. Replies from the shop's staff to a
ticket of the conversation are printed as they come: with the next answer, and while
--wait polls for them (GetMessages) after the last question.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid

import grpc

from shopvoice_cli import demo_shop

KIND_WORDS = {1: "answered", 2: "handed off", 3: "needs info", 4: "small talk"}


def add_arguments(parser: argparse.ArgumentParser, gateway: str) -> None:
    parser.add_argument("text", nargs="*", help="questions, asked in order (none: read lines from stdin)")
    parser.add_argument(
        "--gateway", default=gateway, help="host:port (default SHOPVOICE_GATEWAY, else the local stack's)"
    )
    parser.add_argument("--merchant", default=demo_shop.MERCHANT_ID, help="the shop, for the development token")
    parser.add_argument("--customer", default="cust-1", help="who asks, for the development token")
    parser.add_argument("--conversation", default="", help="resume this conversation (default: a new one)")
    parser.add_argument(
        "--wait", type=float, default=0, help="after the questions, wait this many seconds for staff replies"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per answer or staff reply")


def _token(args: argparse.Namespace) -> str:
    if token := os.environ.get("SHOPVOICE_TOKEN"):
        return token
    from shopvoice.auth import DEV_AUTH_KEYS, mint, parse_keys

    return mint(parse_keys(os.environ.get("AUTH_KEYS", DEV_AUTH_KEYS)), args.merchant, args.customer, "customer")


class Session:
    """One conversation through the gateway; remembers the last staff reply shown."""

    def __init__(self, channel: grpc.Channel, token: str, conversation: str, as_json: bool) -> None:
        from shopvoice.support.v1 import support_pb2_grpc

        self.stub = support_pb2_grpc.CustomerAssistantStub(channel)
        self.metadata = (("authorization", f"Bearer {token}"),)
        self.conversation = conversation
        self.as_json = as_json
        self.seen = ""  # the last staff message id shown

    def ask(self, text: str) -> None:
        from shopvoice.support.v1 import support_pb2 as pb

        answer = self.stub.Ask(
            pb.AskRequest(conversation_id=self.conversation, text=text), metadata=self.metadata, timeout=20
        )
        for message in answer.staff_replies:
            self._staff(message)
        if self.as_json:
            row = {"conversation": self.conversation, "ask": text, "answer": answer.text}
            row |= {"kind": KIND_WORDS.get(answer.kind, "unknown"), "ticket": answer.ticket_id}
            print(json.dumps(row, ensure_ascii=False), flush=True)
            return
        ticket = f"  [ticket {answer.ticket_id}]" if answer.ticket_id else ""
        print(f"customer: {text}\nassistant: {answer.text}{ticket}", flush=True)

    def poll(self) -> int:
        """Show staff replies not shown yet; how many there were."""
        from shopvoice.support.v1 import support_pb2 as pb

        reply = self.stub.GetMessages(
            pb.GetMessagesRequest(conversation_id=self.conversation, after=self.seen),
            metadata=self.metadata,
            timeout=10,
        )
        for message in reply.messages:
            self._staff(message)
        return len(reply.messages)

    def _staff(self, message: object) -> None:
        message_id, text, ticket = (getattr(message, k) for k in ("message_id", "text", "ticket_id"))
        if self.seen and int(message_id) <= int(self.seen):
            return
        self.seen = message_id
        if self.as_json:
            row = {"conversation": self.conversation, "staff": text, "ticket": ticket, "message_id": message_id}
            print(json.dumps(row, ensure_ascii=False), flush=True)
        else:
            print(f"staff (ticket {ticket}): {text}", flush=True)


def run(args: argparse.Namespace) -> int:
    conversation = args.conversation or uuid.uuid4().hex
    if not args.conversation and not args.json:
        print(f"conversation {conversation} (--conversation resumes it)", flush=True)
    with grpc.insecure_channel(args.gateway) as channel:
        session = Session(channel, _token(args), conversation, args.json)
        if args.conversation:
            session.poll()  # what the staff wrote since this conversation's last visit
        questions = list(args.text)
        if not questions and not args.wait:
            interactive = sys.stdin.isatty()
            for line in sys.stdin:
                if line.strip():
                    session.ask(line.strip())
                    session.poll()
                if interactive:
                    print("> ", end="", flush=True)
        for text in questions:
            session.ask(text)
        deadline = time.monotonic() + args.wait
        while time.monotonic() < deadline:
            if session.poll():
                break
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return 0
