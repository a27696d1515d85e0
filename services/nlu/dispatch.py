"""Typed command to the owning service's RPC, with the utterance id as idempotency key.

A refusal by the owning service (bad value, unknown SKU, illegal state) is an
answer for the merchant, not a failure: it becomes a REJECTED result with the
service's own message. An unreachable service raises, so the utterance stays
pending in the stream and is retried.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import grpc

from shopvoice import tracing
from shopvoice.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.gateway.v1.gateway_pb2 import ResultStatus

# Codes that mean "the request was understood and refused": tell the merchant.
REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.OUT_OF_RANGE,
}


def summary(text: str, replayed: bool) -> str:
    return f"{text} (already done earlier; nothing changed now)" if replayed else text


@dataclass(frozen=True)
class Caller:
    """Who said it, from the gateway's verified token, and which utterance it was."""

    merchant_id: str
    user_id: str
    role: str
    utterance_id: str


@dataclass(frozen=True)
class Outcome:
    status: ResultStatus.ValueType
    message: str
    grpc_code: str = ""


class Dispatcher:
    def __init__(self, catalog: grpc.aio.Channel, timeout_s: float) -> None:
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(catalog)
        self.timeout_s = timeout_s
        self._routes: dict[str, Callable[[cmd.Command, Caller], Awaitable[Outcome]]] = {
            "set_price": self._set_price,
        }

    async def run(self, command: cmd.Command, caller: Caller) -> Outcome:
        intent = command.WhichOneof("intent")
        route = self._routes.get(intent or "")
        if route is None:
            return Outcome(ResultStatus.RESULT_STATUS_NOT_UNDERSTOOD, f"'{intent}' cannot be carried out yet")
        try:
            return await route(command, caller)
        except grpc.aio.AioRpcError as exc:
            if exc.code() in REFUSALS:
                return Outcome(ResultStatus.RESULT_STATUS_REJECTED, exc.details() or exc.code().name, exc.code().name)
            raise

    def _mutation(self, caller: Caller) -> catalog_pb2.Mutation:
        return catalog_pb2.Mutation(
            merchant_id=caller.merchant_id,
            idempotency_key=caller.utterance_id,
            actor=catalog_pb2.Actor(user_id=caller.user_id, role=caller.role, command_id=caller.utterance_id),
        )

    async def _set_price(self, command: cmd.Command, caller: Caller) -> Outcome:
        slots = command.set_price
        result = await self.catalog.SetPrice(
            catalog_pb2.SetPriceRequest(mutation=self._mutation(caller), sku=slots.sku, price=slots.price),
            timeout=self.timeout_s,
            metadata=tracing.current_metadata(),
        )
        return Outcome(ResultStatus.RESULT_STATUS_OK, summary(result.summary, result.replayed))
