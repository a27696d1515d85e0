"""The support service's servicers: SupportService (answers, called by the gateway's
customer channel) and SupportAdmin (the merchant's policies and tickets)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

import grpc

from services.support import store
from services.support.assistant import Assistant, staff_message
from shopvoice import idempotency
from shopvoice.db import Conn, Pool
from shopvoice.errors import FailedPrecondition, InvalidArgument, NotFound, grpc_boundary
from shopvoice.identifiers import require_merchant
from shopvoice.support.v1 import support_pb2 as pb
from shopvoice.support.v1 import support_pb2_grpc

Context = grpc.aio.ServicerContext
MAX_POLICY_CHARS = 4000
MAX_REPLY_CHARS = 2000
LANGUAGES = ("zh", "en")


def topic_name(topic: int) -> str:
    name = store.TOPICS.get(topic)  # type: ignore[call-overload]
    if name is None:
        raise InvalidArgument(
            "topic is required: shipping, returns, address_change, invoice, warranty, payment, cancellation"
            " or service_hours"
        )
    return str(name)


def language_of(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidArgument("language must be 'zh' or 'en'")
    return language


def ticket_number(ticket_id: str) -> int:
    if not ticket_id.isdigit() or len(ticket_id) > 18:
        raise NotFound(f"no ticket {ticket_id!r} in this shop")
    return int(ticket_id)


def policy_proto(row: dict[str, Any]) -> pb.Policy:
    policy = pb.Policy(
        merchant_id=row["merchant_id"],
        topic=store.TOPIC_ENUMS[row["topic"]],
        language=row["language"],
        text=row["body"],
    )
    policy.updated_at.FromDatetime(row["updated_at"])
    return policy


def reply_text(text: str) -> str:
    body = text.strip()
    if not body or len(body) > MAX_REPLY_CHARS:
        raise InvalidArgument(f"text is required (1-{MAX_REPLY_CHARS} characters): what the customer will read")
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t" for ch in body):
        raise InvalidArgument("text contains control or invisible characters; remove them")
    return body


class SupportServicer(support_pb2_grpc.SupportServiceServicer):
    def __init__(self, assistant: Assistant, pool: Pool) -> None:
        self.assistant = assistant
        self.pool = pool

    @grpc_boundary
    async def AnswerQuestion(self, request: pb.AnswerRequest, context: Context) -> pb.Answer:
        return await self.assistant.answer(require_merchant(request.merchant_id), request.customer_id, request.ask)

    @grpc_boundary
    async def ConversationMessages(
        self, request: pb.ConversationMessagesRequest, context: Context
    ) -> pb.GetMessagesResponse:
        merchant_id = require_merchant(request.merchant_id)
        if not request.customer_id:
            raise InvalidArgument("customer_id is required")
        conversation = request.request.conversation_id
        if not conversation or len(conversation) > 100:
            raise InvalidArgument("conversation_id is required (1-100 characters): the conversation to read")
        after = request.request.after
        if after and (not after.isdigit() or len(after) > 18):
            raise InvalidArgument("after must be a message_id this service gave out, or empty")
        async with self.pool.connection() as conn:
            rows = await store.staff_replies(conn, merchant_id, request.customer_id, conversation, int(after or 0))
        return pb.GetMessagesResponse(messages=[staff_message(r) for r in rows])


class SupportAdminServicer(support_pb2_grpc.SupportAdminServicer):
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    @grpc_boundary
    async def SetPolicy(self, request: pb.SetPolicyRequest, context: Context) -> pb.Policy:
        require_merchant(request.mutation.merchant_id)  # what is wrong with the merchant is said first
        topic, language = topic_name(request.topic), language_of(request.language)
        body = request.text.strip()
        if len(body) > MAX_POLICY_CHARS:
            raise InvalidArgument(f"a policy is at most {MAX_POLICY_CHARS} characters")

        async def apply(conn: Conn, merchant_id: str) -> pb.Policy:
            row = await store.set_policy(conn, merchant_id, topic, language, body, request.mutation.actor.user_id)
            if row:
                return policy_proto(row)
            return pb.Policy(merchant_id=merchant_id, topic=request.topic, language=language)

        return await idempotency.run_once(self.pool, "SetPolicy", request, request.mutation, pb.Policy, apply)

    @grpc_boundary
    async def GetPolicy(self, request: pb.GetPolicyRequest, context: Context) -> pb.Policy:
        merchant_id = require_merchant(request.merchant_id)
        topic, language = topic_name(request.topic), language_of(request.language)
        async with self.pool.connection() as conn:
            rows = await store.policies(conn, merchant_id, topic, language)
        if not rows:
            raise NotFound(f"no {topic} policy in {language} for this shop; set one with SetPolicy")
        return policy_proto(rows[0])

    @grpc_boundary
    async def ListPolicies(self, request: pb.ListPoliciesRequest, context: Context) -> pb.ListPoliciesResponse:
        merchant_id = require_merchant(request.merchant_id)
        async with self.pool.connection() as conn:
            rows = await store.policies(conn, merchant_id)
        return pb.ListPoliciesResponse(policies=[policy_proto(r) for r in rows])

    @grpc_boundary
    async def ListTickets(self, request: pb.ListTicketsRequest, context: Context) -> pb.ListTicketsResponse:
        merchant_id = require_merchant(request.merchant_id)
        if request.page_size < 0:
            raise InvalidArgument("page_size cannot be negative")
        status = {pb.TICKET_STATUS_OPEN: "open", pb.TICKET_STATUS_CLOSED: "closed"}.get(request.status, "")
        async with self.pool.connection() as conn:
            rows = await store.tickets(conn, merchant_id, status, min(request.page_size or 50, 200))
            return pb.ListTicketsResponse(tickets=[await self._ticket(conn, r, with_turns=False) for r in rows])

    @grpc_boundary
    async def GetTicket(self, request: pb.GetTicketRequest, context: Context) -> pb.Ticket:
        merchant_id = require_merchant(request.merchant_id)
        async with self.pool.connection() as conn:
            row = await store.ticket(conn, merchant_id, ticket_number(request.ticket_id))
            if row is None:
                raise NotFound(f"no ticket {request.ticket_id!r} in this shop")
            return await self._ticket(conn, row, with_turns=True)

    @grpc_boundary
    async def CloseTicket(self, request: pb.CloseTicketRequest, context: Context) -> pb.Ticket:
        # Closing is idempotent by nature (closed stays closed, closed_at is kept),
        # so a retry needs no stored result.
        merchant_id = require_merchant(request.mutation.merchant_id)
        async with self.pool.connection() as conn:
            row = await store.close_ticket(conn, merchant_id, ticket_number(request.ticket_id))
            if row is None:
                raise NotFound(f"no ticket {request.ticket_id!r} in this shop")
            return await self._ticket(conn, row, with_turns=True)

    @grpc_boundary
    async def ReplyToTicket(self, request: pb.ReplyToTicketRequest, context: Context) -> pb.Ticket:
        require_merchant(request.mutation.merchant_id)  # what is wrong with the merchant is said first
        number = ticket_number(request.ticket_id)
        body = reply_text(request.text)
        author = request.mutation.actor.user_id

        async def apply(conn: Conn, merchant_id: str) -> pb.Ticket:
            row = await store.ticket(conn, merchant_id, number)
            if row is None:
                raise NotFound(f"no ticket {request.ticket_id!r} in this shop")
            if row["status"] != "open":
                raise FailedPrecondition(f"ticket {number} is closed; the customer can open a new one by asking again")
            await store.add_staff_reply(conn, row, author, body)
            return await self._ticket(conn, row, with_turns=True)

        return await idempotency.run_once(self.pool, "ReplyToTicket", request, request.mutation, pb.Ticket, apply)

    @staticmethod
    async def _ticket(conn: Any, row: dict[str, Any], with_turns: bool) -> pb.Ticket:
        ticket = pb.Ticket(
            merchant_id=row["merchant_id"],
            ticket_id=str(row["ticket_id"]),
            customer_id=row["customer_id"],
            conversation_id=row["conversation_id"],
            reason=row["reason"],
            status=pb.TICKET_STATUS_OPEN if row["status"] == "open" else pb.TICKET_STATUS_CLOSED,
        )
        ticket.created_at.FromDatetime(row["created_at"])
        if row["closed_at"] is not None:
            ticket.closed_at.FromDatetime(row["closed_at"])
        if with_turns:
            said: list[tuple[datetime, str, str]] = []
            for turn in await store.recent_turns(conn, row["merchant_id"], row["customer_id"], row["conversation_id"]):
                said += [(turn.at, "customer", turn.question), (turn.at, "assistant", turn.answer.text)]
            for reply in await store.staff_replies(
                conn, row["merchant_id"], row["customer_id"], row["conversation_id"]
            ):
                said.append((reply["created_at"], "staff", reply["body"]))
            for at, role, text in sorted(said, key=lambda item: item[0]):
                turn_pb = ticket.conversation.add(role=role, text=text)
                turn_pb.at.FromDatetime(at)
        return ticket
