"""Isolation: a customer sees only their own orders in their own shop; the two APIs
(merchant Converse, customer Ask) never accept each other's tokens; tickets stay
in their shop."""

from __future__ import annotations

import re

import grpc
import pytest

from shopvoice.common.v1.mutation_pb2 import Mutation
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.gateway.v1 import gateway_pb2_grpc
from shopvoice.support.v1 import support_pb2 as sup
from shopvoice.support.v1 import support_pb2_grpc
from tests.customer import shop
from tests.customer.conftest import CustomerStack


def _digits_masked(text: str) -> str:
    return re.sub(r"\d+", "#", text)


def test_another_customers_order_reads_exactly_as_a_missing_one(customer_stack: CustomerStack) -> None:
    theirs = customer_stack.ask("where is order {other}?", customer="cust-1")
    missing = customer_stack.ask("where is order 987654?", customer="cust-1")
    assert theirs.kind == missing.kind == sup.ANSWER_KIND_NEEDS_INFO
    assert _digits_masked(theirs.text) == _digits_masked(missing.text)
    assert [f.name for f in theirs.facts_used] == [f.name for f in missing.facts_used] == ["question.order_id"]


def test_the_owner_sees_the_same_order(customer_stack: CustomerStack) -> None:
    mine = customer_stack.ask("where is order {other}?", customer="cust-2")
    assert mine.kind == sup.ANSWER_KIND_ANSWERED and shop.OTHER_TRACKING in mine.text


def test_same_order_number_in_another_shop_is_not_this_customers(customer_stack: CustomerStack) -> None:
    # Order ids are per shop: shop-b has an order with cust-1's shop-a number, for cust-9.
    answer = customer_stack.ask("where is order {shipped}?", merchant=shop.SHOP_B, customer="cust-1")
    assert answer.kind == sup.ANSWER_KIND_NEEDS_INFO
    assert shop.SHOP_B_TRACKING not in answer.text and shop.TRACKING not in answer.text


def test_another_shops_product_and_policy_are_not_visible(customer_stack: CustomerStack) -> None:
    product = customer_stack.ask("How much is Z9?")
    assert product.kind == sup.ANSWER_KIND_NEEDS_INFO and "66" not in product.text
    policy = customer_stack.ask("how long does shipping take?", merchant=shop.SHOP_B, customer="cust-9")
    assert shop.SHOP_B_MARKER in policy.text
    ours = customer_stack.ask("how long does shipping take?")
    assert shop.SHOP_B_MARKER not in ours.text and "48" in ours.text


def test_a_customer_token_is_refused_on_the_merchant_assistant(customer_stack: CustomerStack) -> None:
    stub = gateway_pb2_grpc.AssistantStub(customer_stack.channel)
    token = customer_stack.token(shop.SHOP_A, "cust-1")
    stream = stub.Converse(
        iter([gw.ClientMessage(start=gw.SessionStart(language="en-US"))]),
        metadata=(("authorization", f"Bearer {token}"),),
        timeout=10,
    )
    with pytest.raises(grpc.RpcError) as refused:
        list(stream)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("role", ["owner", "staff", "viewer"])
def test_merchant_tokens_are_refused_on_the_customer_channel(customer_stack: CustomerStack, role: str) -> None:
    stub = support_pb2_grpc.CustomerAssistantStub(customer_stack.channel)
    token = customer_stack.token(shop.SHOP_A, "owner-1", role=role)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Ask(sup.AskRequest(text="where is order 1"), metadata=(("authorization", f"Bearer {token}"),), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_no_token_no_answer(customer_stack: CustomerStack) -> None:
    stub = support_pb2_grpc.CustomerAssistantStub(customer_stack.channel)
    with pytest.raises(grpc.RpcError) as refused:
        stub.Ask(sup.AskRequest(text="where is order 1"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_hand_off_opens_one_ticket_with_the_conversation_for_this_shop_only(customer_stack: CustomerStack) -> None:
    first = customer_stack.ask("where is order {shipped}?", conversation_id="conv-ticket")
    second = customer_stack.ask("it arrived broken, I want to complain", conversation_id="conv-ticket")
    third = customer_stack.ask("I want a human", conversation_id="conv-ticket")
    assert first.kind == sup.ANSWER_KIND_ANSWERED
    assert second.kind == third.kind == sup.ANSWER_KIND_HANDED_OFF
    assert second.ticket_id == third.ticket_id  # one open ticket per conversation
    with grpc.insecure_channel(customer_stack.support) as channel:
        admin = support_pb2_grpc.SupportAdminStub(channel)
        ticket = admin.GetTicket(sup.GetTicketRequest(merchant_id=shop.SHOP_A, ticket_id=second.ticket_id), timeout=10)
        assert ticket.customer_id == "cust-1" and ticket.reason == "complaint"
        said = [t.text for t in ticket.conversation]
        assert said[0].startswith("where is order") and shop.TRACKING in said[1]
        assert "broken" in said[2] and "I want a human" in said[4]
        with pytest.raises(grpc.RpcError) as elsewhere:
            admin.GetTicket(sup.GetTicketRequest(merchant_id=shop.SHOP_B, ticket_id=second.ticket_id), timeout=10)
        assert elsewhere.value.code() == grpc.StatusCode.NOT_FOUND
        closed = admin.CloseTicket(
            sup.CloseTicketRequest(
                mutation=Mutation(merchant_id=shop.SHOP_A, idempotency_key="close-1"), ticket_id=second.ticket_id
            ),
            timeout=10,
        )
        assert closed.status == sup.TICKET_STATUS_CLOSED
    after = customer_stack.ask("still there? I want a person", conversation_id="conv-ticket")
    assert after.ticket_id != second.ticket_id  # a closed ticket is not reopened; a new one is


def test_a_conversation_id_is_per_customer(customer_stack: CustomerStack) -> None:
    customer_stack.ask("where is order {shipped}?", conversation_id="shared-id", customer="cust-1")
    answer = customer_stack.ask("and the tracking number?", conversation_id="shared-id", customer="cust-2")
    assert shop.TRACKING not in answer.text and answer.kind == sup.ANSWER_KIND_NEEDS_INFO


def test_context_remembers_the_order_of_this_conversation(customer_stack: CustomerStack) -> None:
    customer_stack.ask("where is order {shipped}?", conversation_id="ctx-1")
    answer = customer_stack.ask("what's the tracking number?", conversation_id="ctx-1")
    assert shop.TRACKING in answer.text


def test_a_retried_turn_returns_the_first_answer(customer_stack: CustomerStack) -> None:
    first = customer_stack.ask("I want a human", conversation_id="retry-1", turn_id="t1")
    again = customer_stack.ask("I want a human", conversation_id="retry-1", turn_id="t1")
    assert first == again
