"""One utterance from sv:transcripts: understand, decide, dispatch, reply.

The utterance is acknowledged only after its replies are published and the
dialogue state saved (streams.py), so a crash anywhere before that redelivers
it; the owning service's idempotency key (the utterance id, or the proposing
utterance's id for a confirmed command) makes the redelivery apply nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import redis.asyncio as aioredis
from opentelemetry import context as otel_context

from services.nlu import guardrail, readback, spoken_prices
from services.nlu.dialogue import Decision, DialogueStore, Policy, denial, intent_of, remember_context
from services.nlu.dispatch import Caller, Dispatcher, Outcome
from services.nlu.llm.readback import confirm_first, context_line
from services.nlu.replies import is_chinese, language, render
from services.nlu.resolve import resolve
from services.nlu.understand import Understander, Understood
from shopvoice import log, tracing
from shopvoice.common.v1.command_pb2 import StageTiming
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.grammar.commands import unknown_command
from shopvoice.nlu.v1.nlu_pb2 import Utterance
from shopvoice.permissions import PermissionGate
from shopvoice.replies import ReplyPublisher
from shopvoice.streams import Fields
from shopvoice.tracing import stage
from shopvoice.vocabulary_cache import VocabularyCache


class Announcement:
    """A message sent only if the work it announces is still running after `after_s`."""

    def __init__(self, send: Callable[[], Coroutine[Any, Any, None]], after_s: float) -> None:
        self._send = send
        self._sending: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(after_s, self._fire)

    def _fire(self) -> None:
        self._sending = asyncio.create_task(self._send())

    async def settle(self) -> bool:
        """The work is done: cancel the announcement if not yet due; True if it was sent (it is
        awaited here, so whatever is sent next comes after it)."""
        self._timer.cancel()
        if self._sending is None:
            return False
        await self._sending
        return True


# What only answers a question: from the LLM, with none open, it was chatter read as "yes" or "cancel".
ANSWERS = frozenset({"confirm", "cancel"})


class UtteranceHandler:
    def __init__(
        self,
        understander: Understander,
        vocabularies: VocabularyCache,
        dispatcher: Dispatcher,
        policy: Policy,
        dialogue: DialogueStore,
        replies: ReplyPublisher,
        gate: PermissionGate,
        redis: aioredis.Redis,
        understood_after_s: float = 0.05,
    ) -> None:
        self.understander = understander
        self.vocabularies = vocabularies
        self.dispatcher = dispatcher
        self.policy = policy
        self.dialogue = dialogue
        self.replies = replies
        self.gate = gate
        # The turn's own transactions (replies with the state they go with) are made on it.
        self.redis = redis
        self.understood_after_s = understood_after_s

    async def __call__(self, entry_id: bytes, fields: Fields) -> None:
        utterance = Utterance.FromString(fields[b"utterance"])
        token = otel_context.attach(tracing.context_from_message(utterance.trace))
        try:
            await self.handle(utterance)
        finally:
            otel_context.detach(token)

    async def handle(self, utterance: Utterance) -> None:
        logger = log.get().bind(utterance_id=utterance.utterance_id, merchant_id=utterance.merchant_id)
        answered, state = await self.dialogue.begin(utterance.merchant_id, utterance.utterance_id, utterance.session_id)
        if answered is not None:
            # A replay (the client retried), or a redelivery after the turn was settled (a crash
            # before the ack): the first answer again, nothing decided or run again.
            await self._reply(utterance, answered)
            logger.info("utterance answered before; reply sent again")
            return
        timings = list(utterance.timings)
        chinese = utterance.language.startswith("zh") or is_chinese(utterance.text)

        vocabulary = await self.vocabularies.get(utterance.merchant_id)
        understood = await self.understander(utterance.text, vocabulary, context_line(state))
        if understood.source == "llm" and intent_of(understood.command) in ANSWERS and not state.asks():
            # The model reads chatter as an answer ("cancelled trains again" -> cancel, "yes mum,
            # I'll be home" -> confirm); with no question open there is nothing to answer: no command.
            understood = Understood(unknown_command(utterance.text), "llm", understood.confidence)
        resolution = resolve(understood.command, vocabulary)
        price_reading_chosen = await spoken_prices.read_by_current_price(
            resolution.command,
            utterance.text,
            utterance.merchant_id,
            self.policy.price_lookup,
            vocabulary.products if vocabulary is not None else (),
        )
        timings.append(stage("parsed"))
        decision = await self.policy.decide(
            state,
            resolution.command,
            utterance.text,
            utterance.utterance_id,
            utterance.merchant_id,
            chinese,
            vocabulary=vocabulary,
            candidates=resolution.candidates,
            unknown_product=resolution.unknown,
            confidence=understood.confidence if understood.source == "grammar" else 1.0,
        )
        if understood.source == "llm" or price_reading_chosen:  # a guess is read back before it runs
            decision = confirm_first(decision, state, intent_of(understood.command), chinese)
        turn_intent = intent_of(resolution.command)
        confidence = utterance.speech_confidence
        if heard := readback.read_back_instead(utterance, decision, turn_intent, chinese, confidence):  # readback.py
            state.pending, state.pending_id = decision.command, decision.idempotency_id
            decision = Decision("propose", decision.command, decision.idempotency_id, prompt=heard)
        # What was understood, with what the dialogue filled in ("ship it" → the order just discussed).
        understood_reply = gw.ServerMessage(
            understood=gw.Understood(command=resolution.command, source=understood.source)
        )
        if utterance.dry_run:
            # Understood, not acted on: nothing decided, run or remembered. Both replies are ready
            # at once, so they go together.
            note = render("dry_run", language(chinese))
            dry_run = gw.ServerMessage(result=gw.Result(status=gw.RESULT_STATUS_OK, message=note, timings=timings))
            if decision.kind == "ask" and decision.candidates:
                # a name that fits several products: the question, with them (`say --json` lists them)
                question = gw.Clarification(
                    prompt=decision.prompt, missing_slot=decision.missing_slot, candidates=decision.candidates
                )
                dry_run = gw.ServerMessage(clarification=question)
            await self._reply(utterance, understood_reply, dry_run)
            return
        # "Understood" goes out on its own only when acting takes longer than understood_after_s
        # (the client shows it while a slow command runs); otherwise it rides with the answer,
        # still ahead of it: one reply write and one client message fewer for most turns.
        announced = Announcement(lambda: self._reply(utterance, understood_reply), self.understood_after_s)
        try:
            # Permission (shopvoice/permissions.py), before anything is proposed or run: a denied
            # command is answered, never dispatched, and leaves nothing pending.
            if decision.kind in ("execute", "propose"):
                verdict = await self.gate.check(utterance.merchant_id, utterance.role, intent_of(decision.command))
                if not verdict.allowed:
                    state.pending, state.pending_id = None, ""
                    prompt = denial(verdict.rule, decision.command, chinese)
                    decision = Decision("denied", decision.command, prompt=prompt)
            history = (state.last_change_id, *reversed(state.earlier_changes)) if state.last_change_id else ()
            outcome, answer = await self._act(utterance, decision, history, chinese, timings)
            if decision.kind == "execute" and (asked := guardrail.ask(outcome, decision, chinese)) is not None:
                # A guardrail of the owning service asks (nothing was written): the same command, with
                # the same key, waits for the merchant's "confirm", which resends it confirmed.
                state.pending, state.pending_id = decision.command, decision.idempotency_id
                outcome, answer = None, asked
        finally:
            sent_early = await announced.settle()
        if decision.kind == "execute" and outcome is not None and outcome.status == gw.RESULT_STATUS_OK:
            remember_context(state, decision.command, outcome.change_id)
        # The turn's state, its answer memo and the answer's reply in one MULTI/EXEC, so the state
        # is saved when the answer is published and not without it (a connection lost before EXEC
        # applies none): the session's next utterance (sent once the client has this answer) sees
        # the new state, and a redelivery of this one finds its answer. One round trip, not two.
        self._address(utterance, answer)
        async with self.redis.pipeline(transaction=True) as pipe:
            self.dialogue.settle_in(
                pipe, utterance.session_id, state, utterance.merchant_id, utterance.utterance_id, answer
            )
            if not sent_early:
                self._address(utterance, understood_reply)
                self.replies.send_in(pipe, utterance.reply_stream, understood_reply)
            self.replies.send_in(pipe, utterance.reply_stream, answer)
            await pipe.execute()
        logger.info(
            "utterance handled",
            intent=understood.command.WhichOneof("intent"),
            decision=decision.kind,
            status=gw.ResultStatus.Name(outcome.status) if outcome else None,
        )

    async def _act(
        self,
        utterance: Utterance,
        decision: Decision,
        undo_history: tuple[str, ...],
        chinese: bool,
        timings: list[StageTiming],
    ) -> tuple[Outcome | None, gw.ServerMessage]:
        """Carry out the decision; returns the outcome (if anything ran or was refused) and the answer."""
        if decision.kind == "propose":
            prompt = gw.ConfirmationPrompt(prompt=decision.prompt, command=decision.command)
            return None, gw.ServerMessage(confirmation=prompt)
        if decision.kind == "ask":
            question = gw.Clarification(
                prompt=decision.prompt, missing_slot=decision.missing_slot, candidates=decision.candidates
            )
            return None, gw.ServerMessage(clarification=question)
        if decision.kind == "execute":
            caller = Caller(
                utterance.merchant_id,
                utterance.user_id,
                utterance.role,
                decision.idempotency_id,
                chinese=chinese,
                undo_change_id=undo_history[0] if undo_history else "",
                undo_history=undo_history,
                reply_stream=utterance.reply_stream,
                confirmed_by=utterance.user_id if decision.confirmed else "",
            )
            timings.append(stage("dispatched"))
            outcome = await self.dispatcher.run(decision.command, caller)
            timings.append(stage("committed"))
        elif decision.kind == "denied":
            outcome = Outcome(gw.RESULT_STATUS_REJECTED, decision.prompt, "PERMISSION_DENIED")
        else:
            status = gw.RESULT_STATUS_CANCELLED if decision.kind == "cancelled" else gw.RESULT_STATUS_REJECTED
            outcome = Outcome(status, decision.prompt)
        result = gw.Result(
            status=outcome.status,
            message=outcome.message,
            grpc_code=outcome.grpc_code,
            timings=timings,
            change=outcome.change,
        )
        return outcome, gw.ServerMessage(result=result)

    async def _reply(self, utterance: Utterance, *messages: gw.ServerMessage) -> None:
        for message in messages:
            self._address(utterance, message)
        await self.replies.send(utterance.reply_stream, *messages)

    @staticmethod
    def _address(utterance: Utterance, message: gw.ServerMessage) -> None:
        message.utterance_id = utterance.utterance_id
        message.trace.CopyFrom(utterance.trace)
