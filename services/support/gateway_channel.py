"""The customer channel the gateway hosts: CustomerAssistant/Ask.

The public entry stays the gateway. This servicer verifies the bearer token with
the gateway's own TokenVerifier, accepts only the "customer" role, and forwards
the question to the support service with merchant_id and customer_id (the
token's sub) taken from the token, never from the request. Merchant and staff
tokens are refused here, as customer tokens are refused on Assistant/Converse:
the two audiences never share an API.
"""

from __future__ import annotations

import grpc
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shopvoice import grpc_server
from shopvoice.auth import TokenVerifier
from shopvoice.errors import DomainError
from shopvoice.support.v1 import support_pb2 as pb
from shopvoice.support.v1 import support_pb2_grpc

CUSTOMER_ROLE = "customer"
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["CustomerAssistant"].full_name


class ChannelSettings(BaseSettings):
    """Read by the gateway; an empty SUPPORT_ADDR leaves the customer channel off."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    support_addr: str = Field("", alias="SUPPORT_ADDR", description="support service; empty = no customer channel")
    rpc_timeout_s: float = Field(5.0, alias="RPC_TIMEOUT_S", gt=0)


class CustomerAssistantServicer(support_pb2_grpc.CustomerAssistantServicer):
    def __init__(self, verifier: TokenVerifier, support: grpc.aio.Channel, timeout_s: float) -> None:
        self.verifier = verifier
        self.support = support_pb2_grpc.SupportServiceStub(support)
        self.timeout_s = timeout_s

    async def Ask(self, request: pb.AskRequest, context: grpc.aio.ServicerContext) -> pb.Answer:
        try:
            principal = self.verifier.verify(context.invocation_metadata())
        except DomainError as exc:
            await context.abort(exc.code, str(exc))
        if principal.role != CUSTOMER_ROLE:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "CustomerAssistant is for customer tokens only")
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


def register(server: grpc.aio.Server, verifier: TokenVerifier, settings: ChannelSettings) -> list[str]:
    """Add the customer channel to the gateway's server; returns the service names for health."""
    if not settings.support_addr:
        return []
    channel = grpc_server.channel(settings.support_addr)  # register runs inside the server's loop
    support_pb2_grpc.add_CustomerAssistantServicer_to_server(
        CustomerAssistantServicer(verifier, channel, settings.rpc_timeout_s), server
    )
    return [SERVICE_NAME]
