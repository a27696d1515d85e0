"""The customer channel the gateway hosts: CustomerAssistant/Ask and GetMessages.

The public entry stays the gateway, for customers as for merchants. This servicer
verifies the bearer token with the gateway's TokenVerifier, accepts only the
"customer" role, and forwards the question over gRPC to the support service
(SUPPORT_ADDR) with merchant_id and customer_id (the token's sub) taken from the
token, never from the request. Merchant and staff tokens are refused here, as
customer tokens are refused on Assistant/Converse: the two audiences never share
an API. Staff replies to a ticket reach the customer in the same session: with the
next answer (Answer.staff_replies) and through GetMessages, which a client polls while
it waits for a person.
"""

from __future__ import annotations

import grpc

from shopvoice.auth import Principal, TokenVerifier
from shopvoice.errors import DomainError
from shopvoice.support.v1 import support_pb2 as pb
from shopvoice.support.v1 import support_pb2_grpc

CUSTOMER_ROLE = "customer"
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CustomerAssistant"].full_name


class CustomerAssistantServicer(support_pb2_grpc.CustomerAssistantServicer):
    def __init__(self, verifier: TokenVerifier, support: grpc.aio.Channel, timeout_s: float) -> None:
        self.verifier = verifier
        self.support = support_pb2_grpc.SupportServiceStub(support)
        self.timeout_s = timeout_s

    async def _customer(self, context: grpc.aio.ServicerContext) -> Principal:
        try:
            principal = self.verifier.verify(context.invocation_metadata())
        except DomainError as exc:
            await context.abort(exc.code, str(exc))
        if principal.role != CUSTOMER_ROLE:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "CustomerAssistant is for customer tokens only")
        return principal

    async def GetMessages(
        self, request: pb.GetMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMessagesResponse:
        """The staff's replies in one of this customer's conversations (never another's:
        the customer comes from the token, and the support service keys on it)."""
        principal = await self._customer(context)
        try:
            reply: pb.GetMessagesResponse = await self.support.ConversationMessages(
                pb.ConversationMessagesRequest(
                    merchant_id=principal.merchant_id, customer_id=principal.user_id, request=request
                ),
                timeout=self.timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                await context.abort(exc.code(), exc.details() or "")
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the support service is unavailable; retry shortly")
        return reply

    async def Ask(self, request: pb.AskRequest, context: grpc.aio.ServicerContext) -> pb.Answer:
        principal = await self._customer(context)
        try:
            answer: pb.Answer = await self.support.AnswerQuestion(
                pb.AnswerRequest(merchant_id=principal.merchant_id, customer_id=principal.user_id, ask=request),
                timeout=self.timeout_s,
            )
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED):
                await context.abort(code, exc.details() or "")
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the support service is unavailable; retry shortly")
        return answer


def register(server: grpc.aio.Server, verifier: TokenVerifier, support: grpc.aio.Channel, timeout_s: float) -> None:
    """Add the customer channel to the gateway's server, forwarding over `support`."""
    support_pb2_grpc.add_CustomerAssistantServicer_to_server(
        CustomerAssistantServicer(verifier, support, timeout_s), server
    )
