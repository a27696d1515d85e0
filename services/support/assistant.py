"""One customer question in, one answer out: read, gather facts, render, check, record.

The decision, in order:
1. A hand-off cue (a person asked for, a complaint or dispute, a cancellation
   request) opens a ticket at once, whatever else the question says.
2. A question we answer (order status, stock, price, a policy topic) gathers its
   facts; what it lacks (an order number, a product) is asked for (NEEDS_INFO),
   and an order that is not this customer's reads exactly as a missing one.
3. Anything else, or a policy topic the merchant has not written, goes to a person.
The template answer is rendered from facts alone; with vLLM configured the LLM
rewrites it from the same facts, and its text is used only if the fact check
passes. Every answer is checked before it leaves; one that fails is handed off.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from services.support import checker, entities, intents, replies, store
from services.support.facts import Facts
from services.support.shopdata import ShopData, order_facts, variant_facts
from services.support.writer import AnswerWriter
from shopvoice import log
from shopvoice.db import Pool
from shopvoice.errors import InvalidArgument
from shopvoice.support.v1 import support_pb2 as pb
from shopvoice.text import Normalized

MAX_TEXT_CHARS = 2000
MAX_ID_CHARS = 100
POLICY_INTENTS = {
    "shipping_time": "shipping",
    "returns": "returns",
    "change_address": "address_change",
    "invoice": "invoice",
}
PRODUCT_INTENTS = ("stock", "price", "product")
HANDOFF_REASONS = {"human": "asks_for_person", "complaint": "complaint", "cancel_request": "request"}


@dataclass
class Draft:
    """An answer before it is recorded."""

    kind: int
    intent: str
    facts: Facts
    text: str = ""
    handoff_reason: str = ""


class Assistant:
    def __init__(self, pool: Pool, shop: ShopData, writer: AnswerWriter | None) -> None:
        self.pool = pool
        self.shop = shop
        self.writer = writer

    async def answer(self, merchant_id: str, customer_id: str, ask: pb.AskRequest) -> pb.Answer:
        if not merchant_id or not customer_id:
            raise InvalidArgument("merchant_id and customer_id are required")
        text = ask.text.strip()
        if not text or len(text) > MAX_TEXT_CHARS:
            raise InvalidArgument(f"text is required (1-{MAX_TEXT_CHARS} characters)")
        if len(ask.conversation_id) > MAX_ID_CHARS or len(ask.turn_id) > MAX_ID_CHARS:
            raise InvalidArgument(f"conversation_id and turn_id are at most {MAX_ID_CHARS} characters")
        conversation_id = ask.conversation_id or uuid.uuid4().hex
        async with self.pool.connection() as conn:
            replayed = await store.replay(conn, merchant_id, customer_id, conversation_id, ask.turn_id)
            if replayed is not None:
                return replayed
            history = await store.recent_turns(conn, merchant_id, customer_id, conversation_id, limit=10)

        normalized, found = intents.read(text)
        language = ask.language if ask.language in ("zh", "en") else normalized.language
        draft = await self._decide(merchant_id, customer_id, text, normalized, found, language, history)
        if draft.kind == pb.ANSWER_KIND_ANSWERED and self.writer is not None:
            written = await self.writer.write(text, draft.facts, draft.text, language)
            llm = written is not None
            draft.text = written or draft.text
        else:
            llm = False
        if draft.kind != pb.ANSWER_KIND_HANDED_OFF and checker.ungrounded(draft.text, draft.facts.text(), text):
            # A template that states something the facts do not hold is a bug; the
            # customer gets a person rather than a wrong figure.
            log.get().error("template answer failed the fact check", intent=draft.intent)
            draft = Draft(pb.ANSWER_KIND_HANDED_OFF, draft.intent, Facts(), handoff_reason="unanswered")
            llm = False

        async with self.pool.connection() as conn, conn.transaction():
            ticket_id = ""
            if draft.kind == pb.ANSWER_KIND_HANDED_OFF:
                ticket_id = await store.open_ticket(
                    conn, merchant_id, customer_id, conversation_id, draft.handoff_reason
                )
                draft.facts.add("ticket.id", ticket_id)
                draft.text = replies.handed_off(draft.facts, language)
            answer = pb.Answer(
                text=draft.text,
                kind=draft.kind,  # type: ignore[arg-type]
                ticket_id=ticket_id,
                facts_used=draft.facts.to_proto(),
                conversation_id=conversation_id,
                intent=draft.intent,
                language=language,
                llm=llm,
            )
            if not await store.save_turn(conn, merchant_id, customer_id, conversation_id, ask.turn_id, text, answer):
                replayed = await store.replay(conn, merchant_id, customer_id, conversation_id, ask.turn_id)
                if replayed is not None:
                    return replayed
        return answer

    async def _decide(
        self,
        merchant_id: str,
        customer_id: str,
        raw: str,
        normalized: Normalized,
        found: list[str],
        language: str,
        history: list[store.TurnRow],
    ) -> Draft:
        facts = Facts()
        if found and found[0] in intents.HANDOFF_INTENTS:
            return Draft(pb.ANSWER_KIND_HANDED_OFF, found[0], facts, handoff_reason=HANDOFF_REASONS[found[0]])
        about_order = bool({"order_status", "change_address", "shipping_time"} & set(found))
        order_id = entities.order_id(normalized, raw, lone=about_order)
        vocabulary = await self.shop.vocabulary(merchant_id)
        sku = entities.sku(normalized, raw, vocabulary)
        topical = [i for i in found if i != "greeting"]
        intent = topical[0] if topical else ""
        if intent == "shipping_time" and order_id:
            intent = "order_status"  # "when will order 1234 arrive" is about that order
        if intent == "order_status" and sku and not order_id and {"stock", "price"} & set(found):
            intent = next(i for i in found if i in ("stock", "price"))  # "order more A100?" names a product
        if not intent:
            intent = "order_status" if order_id else "product" if sku else "greeting" if found else ""
        if not intent:
            return Draft(pb.ANSWER_KIND_HANDED_OFF, "unknown", facts, handoff_reason="unanswered")
        if intent == "greeting":
            return Draft(pb.ANSWER_KIND_ANSWERED, intent, facts, replies.greeting(language))

        if intent == "order_status" or (intent in POLICY_INTENTS and order_id):
            order_id = order_id or _remembered(history, "order.id")
            if not order_id:
                return Draft(pb.ANSWER_KIND_NEEDS_INFO, intent, facts, replies.need_order_id(language))
            order = await self.shop.order(merchant_id, customer_id, order_id)
            if order is None:
                facts.add("question.order_id", order_id)
                return Draft(pb.ANSWER_KIND_NEEDS_INFO, intent, facts, replies.order_not_found(facts, language))
            order_facts(facts, order, language)
            if intent == "order_status":
                return Draft(pb.ANSWER_KIND_ANSWERED, intent, facts, replies.order_status(facts, language))

        if intent in POLICY_INTENTS:
            topic = POLICY_INTENTS[intent]
            async with self.pool.connection() as conn:
                body = await store.policy_text(conn, merchant_id, topic, language)
            if not body:
                return Draft(pb.ANSWER_KIND_HANDED_OFF, intent, Facts(), handoff_reason="unanswered")
            facts.add(f"policy.{topic}", body)
            return Draft(pb.ANSWER_KIND_ANSWERED, intent, facts, replies.policy(facts, topic, language))

        sku = sku or _remembered(history, "variant.sku")
        product = await self.shop.product(merchant_id, sku) if sku else None
        if product is None:
            return Draft(pb.ANSWER_KIND_NEEDS_INFO, intent, facts, replies.need_product(language))
        variant_facts(facts, product, entities.variants_asked(product, normalized, raw))
        if intent == "stock":
            text = replies.stock_text(facts, language)
        elif intent == "price":
            text = replies.price_text(facts, language)
        else:
            text = (
                replies.stock_text(facts, language)
                + ("" if language == "zh" else " ")
                + replies.price_text(facts, language)
            )
        return Draft(pb.ANSWER_KIND_ANSWERED, intent, facts, text)


def _remembered(history: list[store.TurnRow], name: str) -> str:
    """The latest value of a fact in this conversation ("and when will it arrive?")."""
    for turn in reversed(history):
        for fact in turn.answer.facts_used:
            if fact.name == name:
                return fact.value
    return ""
