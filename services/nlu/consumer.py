"""One utterance from sv:transcripts: understand, dispatch, reply.

The utterance is acknowledged only after its reply is published (streams.py),
so a crash anywhere before that redelivers it; the owning service's idempotency
key (the utterance id) makes the redelivery apply nothing twice.
"""

from __future__ import annotations

from opentelemetry import context as otel_context

from services.nlu.dispatch import Caller, Dispatcher, Outcome
from services.nlu.replies import ReplyPublisher, stage
from services.nlu.understand import understand
from shopvoice import log, tracing
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.nlu.v1.nlu_pb2 import Utterance
from shopvoice.permissions import PermissionGate
from shopvoice.streams import Fields


class UtteranceHandler:
    def __init__(self, dispatcher: Dispatcher, replies: ReplyPublisher, gate: PermissionGate) -> None:
        self.dispatcher = dispatcher
        self.replies = replies
        self.gate = gate

    async def __call__(self, entry_id: bytes, fields: Fields) -> None:
        utterance = Utterance.FromString(fields[b"utterance"])
        token = otel_context.attach(tracing.context_from_message(utterance.trace))
        try:
            await self.handle(utterance)
        finally:
            otel_context.detach(token)

    async def handle(self, utterance: Utterance) -> None:
        logger = log.get().bind(utterance_id=utterance.utterance_id, merchant_id=utterance.merchant_id)
        timings = list(utterance.timings)
        command = understand(utterance.text)
        timings.append(stage("parsed"))
        await self._reply(utterance, gw.ServerMessage(understood=gw.Understood(command=command, source="grammar")))

        caller = Caller(utterance.merchant_id, utterance.user_id, utterance.role, utterance.utterance_id)
        # Permission (shopvoice/permissions.py): a denied command is answered, never dispatched.
        decision = await self.gate.check(caller.merchant_id, caller.role, command.WhichOneof("intent") or "")
        if not decision.allowed:
            outcome = Outcome(gw.RESULT_STATUS_REJECTED, decision.reason, "PERMISSION_DENIED")
        else:
            timings.append(stage("dispatched"))
            outcome = await self.dispatcher.run(command, caller)
            timings.append(stage("committed"))
        result = gw.Result(status=outcome.status, message=outcome.message, grpc_code=outcome.grpc_code, timings=timings)
        await self._reply(utterance, gw.ServerMessage(result=result))
        logger.info(
            "utterance handled", intent=command.WhichOneof("intent"), status=gw.ResultStatus.Name(outcome.status)
        )

    async def _reply(self, utterance: Utterance, message: gw.ServerMessage) -> None:
        message.utterance_id = utterance.utterance_id
        message.trace.CopyFrom(utterance.trace)
        await self.replies.send(utterance.reply_stream, message)
