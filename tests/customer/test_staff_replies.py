"""Staff replies to a ticket: recorded with the ticket, shown to the customer with the next
answer and through GetMessages, never to another customer; bad input refused, nothing written."""

from __future__ import annotations

import uuid

import grpc
import pytest

from shopvoice.common.v1.mutation_pb2 import Actor, Mutation
from shopvoice.support.v1 import support_pb2 as sup
from shopvoice.support.v1 import support_pb2_grpc
from tests.customer import shop
from tests.customer.conftest import CustomerStack


def admin(stack: CustomerStack) -> support_pb2_grpc.SupportAdminStub:
    return support_pb2_grpc.SupportAdminStub(grpc.insecure_channel(stack.support))


def reply(stack: CustomerStack, ticket: str, text: str, merchant: str = shop.SHOP_A) -> sup.Ticket:
    mutation = Mutation(merchant_id=merchant, idempotency_key=uuid.uuid4().hex, actor=Actor(user_id="staff-7"))
    answer: sup.Ticket = admin(stack).ReplyToTicket(
        sup.ReplyToTicketRequest(mutation=mutation, ticket_id=ticket, text=text), timeout=10
    )
    return answer


def messages(stack: CustomerStack, conversation: str, customer: str = "cust-1") -> list[str]:
    stub = support_pb2_grpc.CustomerAssistantStub(stack.channel)
    metadata = (("authorization", f"Bearer {stack.token(shop.SHOP_A, customer)}"),)
    got = stub.GetMessages(sup.GetMessagesRequest(conversation_id=conversation), metadata=metadata, timeout=10)
    return [m.text for m in got.messages]


def test_the_customer_sees_the_reply_with_the_next_answer_and_by_polling(customer_stack: CustomerStack) -> None:
    conversation = uuid.uuid4().hex
    handed = customer_stack.ask("I want to talk to a real person", conversation_id=conversation)
    assert handed.kind == sup.ANSWER_KIND_HANDED_OFF
    ticket = reply(customer_stack, handed.ticket_id, "Hi, this is Mia from the shop: how can I help?")
    assert [t.role for t in ticket.conversation] == ["customer", "assistant", "staff"]
    assert messages(customer_stack, conversation) == ["Hi, this is Mia from the shop: how can I help?"]
    assert messages(customer_stack, conversation, customer="cust-2") == []
    following = customer_stack.ask("thanks", conversation_id=conversation)
    assert [m.text for m in following.staff_replies] == ["Hi, this is Mia from the shop: how can I help?"]
    assert list(customer_stack.ask("bye", conversation_id=conversation).staff_replies) == []


@pytest.mark.parametrize(
    ("ticket", "text", "merchant", "code"),
    [
        ("", "hello", shop.SHOP_A, grpc.StatusCode.NOT_FOUND),
        ("999999", "hello", shop.SHOP_A, grpc.StatusCode.NOT_FOUND),
        ("OWN", "", shop.SHOP_A, grpc.StatusCode.INVALID_ARGUMENT),
        ("OWN", "bad\x00text", shop.SHOP_A, grpc.StatusCode.INVALID_ARGUMENT),
        ("OWN", "x" * 2001, shop.SHOP_A, grpc.StatusCode.INVALID_ARGUMENT),
        ("OWN", "hello from another shop", shop.SHOP_B, grpc.StatusCode.NOT_FOUND),
    ],
)
def test_bad_replies_are_refused_and_nothing_reaches_the_customer(
    customer_stack: CustomerStack, ticket: str, text: str, merchant: str, code: grpc.StatusCode
) -> None:
    conversation = uuid.uuid4().hex
    own = customer_stack.ask("我要投诉", conversation_id=conversation).ticket_id
    with pytest.raises(grpc.RpcError) as err:
        reply(customer_stack, own if ticket == "OWN" else ticket, text, merchant)
    assert err.value.code() == code
    assert "\n" not in (err.value.details() or "")
    assert messages(customer_stack, conversation) == []
