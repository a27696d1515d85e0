"""The dialogue policy of one session: confirm what is destructive, undo, context, missing slots.

State lives in Redis (one hash per session, with a TTL), so any NLU replica can
take the next turn of any session, and a restarted NLU continues the dialogue.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.nlu import guardrail
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.grammar import Vocabulary
from shopvoice.grammar.index import grammar_for
from shopvoice.money import to_decimal
from shopvoice.redis_keys import RedisKeys
from shopvoice.text import normalize

# Slots without which an intent cannot run; a missing one is asked for.
REQUIRED: dict[str, tuple[str, ...]] = {
    "set_price": ("sku", "price"),
    "adjust_price": ("sku",),
    "set_stock": ("sku",),
    "adjust_stock": ("sku",),
    "query_stock": ("sku",),
    "query_product": ("sku",),
    "set_product_status": ("sku",),
    "create_product": ("title", "price"),
    "confirm_order": ("order_id",),
    "ship_order": ("order_id",),
    "cancel_order": ("order_id",),
    "refund_order": ("order_id",),
    "query_order": ("order_id",),
    # "what sold best" names no period; the orders service needs one, so it is asked for.
    "sales_report": ("period",),
}
ASK = {
    "sku": ("哪个商品？", "Which product?"),
    "order_id": ("哪个订单？请说订单号", "Which order? Say its number"),
    "price": ("价格是多少？", "At what price?"),
    "title": ("商品叫什么名字？", "What is the product called?"),
    "period": (
        "哪个时间段？今天、昨天、本周还是本月？",
        "For which period: today, yesterday, this week or this month?",
    ),
}

PriceLookup = Callable[[str, str], Awaitable[Money | None]]  # (merchant_id, sku) -> price
Kind = Literal["execute", "propose", "ask", "cancelled", "nothing_pending", "denied"]


@dataclass
class DialogueState:
    pending: cmd.Command | None = None  # proposed, waiting for confirm
    pending_id: str = ""  # the proposing utterance's id: the idempotency key when confirmed
    awaiting: cmd.Command | None = None  # waiting for a missing slot
    awaiting_slot: str = ""
    last_order_id: str = ""
    last_sku: str = ""
    last_change_id: str = ""


@dataclass(frozen=True)
class Decision:
    kind: Kind
    command: cmd.Command = field(default_factory=cmd.Command)
    idempotency_id: str = ""
    prompt: str = ""
    missing_slot: str = ""
    candidates: tuple[str, ...] = ()
    confirmed: bool = False  # the merchant said "confirm" to it (the guardrails' confirmation)


def intent_of(command: cmd.Command) -> str:
    return command.WhichOneof("intent") or "unknown"


def slots_of(command: cmd.Command) -> Any:
    """The intent's own message (SetPrice, ShipOrder, ...); Any, as the oneof's members differ."""
    return getattr(command, intent_of(command))


def has_slot(command: cmd.Command, slot: str) -> bool:
    slots = slots_of(command)
    if slot == "price":
        return bool(slots.HasField("price"))
    value = getattr(slots, slot, "")
    return bool(value)


class DialogueStore:
    def __init__(self, redis: aioredis.Redis, prefix: str, ttl_s: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_s = ttl_s

    def key(self, session_id: str) -> str:
        return RedisKeys(self.prefix).dialogue(session_id)

    def answer_key(self, merchant_id: str, utterance_id: str) -> str:
        # Per merchant: an utterance id is the client's choice, and one shop must never
        # receive another's answer.
        return RedisKeys(self.prefix).answered(merchant_id, utterance_id)

    async def begin(
        self, merchant_id: str, utterance_id: str, session_id: str
    ) -> tuple[gw.ServerMessage | None, DialogueState]:
        """The answer this utterance already got (if its turn was settled), and the session's state.

        One round trip for both. In MULTI/EXEC (no dearer than a plain pipeline: one write either
        way), so the two reads are one snapshot: a redelivery racing the first delivery's settle
        sees either the answer or the state from before this turn, never the new state without
        the answer (it would decide the turn again against its own outcome).
        """
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.answer_key(merchant_id, utterance_id))
            pipe.hgetall(self.key(session_id))
            answered, raw = await pipe.execute()
        answer = gw.ServerMessage.FromString(answered) if isinstance(answered, bytes) else None
        return answer, self._state(raw)

    @staticmethod
    def _state(raw: dict[bytes, bytes]) -> DialogueState:
        state = DialogueState(
            pending_id=raw.get(b"pending_id", b"").decode(),
            awaiting_slot=raw.get(b"awaiting_slot", b"").decode(),
            last_order_id=raw.get(b"last_order_id", b"").decode(),
            last_sku=raw.get(b"last_sku", b"").decode(),
            last_change_id=raw.get(b"last_change_id", b"").decode(),
        )
        if raw.get(b"pending"):
            state.pending = cmd.Command.FromString(raw[b"pending"])
        if raw.get(b"awaiting"):
            state.awaiting = cmd.Command.FromString(raw[b"awaiting"])
        return state

    def settle_in(
        self,
        pipe: Pipeline,
        session_id: str,
        state: DialogueState,
        merchant_id: str,
        utterance_id: str,
        answer: gw.ServerMessage,
    ) -> None:
        """Queue, on the caller's MULTI/EXEC, the session's new state and the utterance's answer.

        The caller commits them with the answer's reply, so that the state is saved exactly when
        the answer is published: the next utterance (sent once the client has the answer) sees
        the new state, and a redelivery of this one finds its answer.
        """
        mapping: dict[str, bytes | str] = {
            "pending": state.pending.SerializeToString() if state.pending else b"",
            "pending_id": state.pending_id,
            "awaiting": state.awaiting.SerializeToString() if state.awaiting else b"",
            "awaiting_slot": state.awaiting_slot,
            "last_order_id": state.last_order_id,
            "last_sku": state.last_sku,
            "last_change_id": state.last_change_id,
        }
        pipe.hset(self.key(session_id), mapping=mapping)  # type: ignore[arg-type]
        pipe.expire(self.key(session_id), self.ttl_s)
        pipe.set(self.answer_key(merchant_id, utterance_id), answer.SerializeToString(), ex=self.ttl_s)


_DIGITS = re.compile(r"\d+")
# The sentence that names an order and nothing else (sentences/en/orders.yaml): alone, a status
# query; to "Which order?", the answer.
_ONLY_AN_ORDER = "<order> {order_id}"
_SKU = re.compile(r"\b([A-Za-z]{1,3})\s?(\d{1,6})\b")


def names_only_an_order(text: str) -> bool:
    """Whether the NLU's bare order sentence explains the whole reply ("order eight eight", "the order
    number 88"; its <order> rule says which words may name an order)."""
    normalized = normalize(text)
    match = grammar_for(normalized.language).match(normalized.text) if normalized.text else None
    return match is not None and match.full and match.template.source == _ONLY_AN_ORDER


def period_in(text: str) -> int:
    """The report period a reply names ("this month", "本月的"), as cmd.Period; 0 if none."""
    normalized = normalize(text).text  # as the grammar's lists are: "最近七天" → "最近7天"
    for language in ("en", "zh"):
        kinds = grammar_for(language).kinds
        words = kinds.pattern("period")  # longest phrase first
        bounded = rf"(?<![a-z])(?:{words})(?![a-z])" if language == "en" else words
        found = re.search(bounded, normalized, re.IGNORECASE)
        if found and (value := kinds.read("period", found.group(0))) is not None:
            return int(cmd.Period.Value(f"PERIOD_{str(value).upper()}"))
    return 0


def fill_from_answer(slot: str, answer: cmd.Command, text: str, vocabulary: Vocabulary | None) -> str | int:
    """The value of a slot we asked for, from the merchant's next utterance."""
    if intent_of(answer) != "unknown" and has_slot(answer, slot):
        value: str | int = getattr(slots_of(answer), slot)
        return value
    if slot == "period":
        return period_in(text)
    if slot == "order_id" and (m := _DIGITS.search(text)):
        return m.group(0)
    if slot == "sku":
        if vocabulary is not None and (sku := vocabulary.resolve(text)):
            return sku
        if m := _SKU.search(text):
            return (m.group(1) + m.group(2)).upper()
    return ""


class Policy:
    def __init__(self, price_lookup: PriceLookup, confirm_price_change_pct: Decimal) -> None:
        self.price_lookup = price_lookup
        self.confirm_price_change_pct = confirm_price_change_pct

    async def decide(
        self,
        state: DialogueState,
        command: cmd.Command,
        text: str,
        utterance_id: str,
        merchant_id: str,
        chinese: bool,
        vocabulary: Vocabulary | None = None,
        candidates: list[str] | None = None,
    ) -> Decision:
        """What to do with this turn; updates `state` (the caller saves it)."""
        intent = intent_of(command)
        if intent == "confirm":
            if state.pending is None:
                return Decision("nothing_pending", prompt="没有需要确认的操作" if chinese else "Nothing to confirm")
            pending, pending_id = state.pending, state.pending_id
            state.pending, state.pending_id = None, ""
            return Decision("execute", pending, pending_id, confirmed=True)
        if intent == "cancel":
            if state.pending is None and state.awaiting is None:
                return Decision("nothing_pending", prompt="没有进行中的操作" if chinese else "Nothing to cancel")
            state.pending, state.pending_id, state.awaiting, state.awaiting_slot = None, "", None, ""
            return Decision("cancelled", prompt="好的，已取消" if chinese else "OK, cancelled")

        if state.awaiting is not None and (
            intent in ("unknown", intent_of(state.awaiting))
            or (state.awaiting_slot == "order_id" and names_only_an_order(text))
        ):
            value = fill_from_answer(state.awaiting_slot, command, text, vocabulary)
            if value:
                command = cmd.Command()
                command.CopyFrom(state.awaiting)
                setattr(slots_of(command), state.awaiting_slot, value)
                intent = intent_of(command)
                candidates = None
        state.awaiting, state.awaiting_slot = None, ""
        state.pending, state.pending_id = None, ""  # a new command drops an unconfirmed one

        if candidates:
            state.awaiting, state.awaiting_slot = command, "sku"
            prompt = "您说的是哪一个？" if chinese else "Which one do you mean?"
            return Decision("ask", command, prompt=prompt, missing_slot="sku", candidates=tuple(candidates))
        self._fill_from_context(state, command)
        for slot in REQUIRED.get(intent, ()):
            if not has_slot(command, slot):
                state.awaiting, state.awaiting_slot = command, slot
                zh, en = ASK[slot]
                return Decision("ask", command, prompt=zh if chinese else en, missing_slot=slot)

        if reason := await self._destructive(command, merchant_id, chinese):
            state.pending, state.pending_id = command, utterance_id
            return Decision("propose", command, utterance_id, prompt=reason)
        return Decision("execute", command, utterance_id)

    @staticmethod
    def _fill_from_context(state: DialogueState, command: cmd.Command) -> None:
        """ "ship it" / "它的库存呢": the order or SKU just discussed."""
        intent = intent_of(command)
        slots = REQUIRED.get(intent, ())
        if "order_id" in slots and not has_slot(command, "order_id") and state.last_order_id:
            slots_of(command).order_id = state.last_order_id
        if "sku" in slots and not has_slot(command, "sku") and state.last_sku:
            slots_of(command).sku = state.last_sku

    async def _destructive(self, command: cmd.Command, merchant_id: str, chinese: bool) -> str:
        """Why this command needs a confirmation, or "" when it does not."""
        intent = intent_of(command)

        def say(zh: str, en: str) -> str:
            return (zh if chinese else en) + ("，确认吗？" if chinese else ". Confirm?")

        if intent == "refund_order":
            slots = command.refund_order
            amount = f" {to_decimal(slots.amount):.2f}" if slots.HasField("amount") else ""
            return say(
                f"将给订单{slots.order_id}退款{amount or '（全额）'}",
                f"This refunds order {slots.order_id}{amount or ' in full'}",
            )
        if intent == "cancel_order":
            return say(
                f"将取消订单{command.cancel_order.order_id}", f"This cancels order {command.cancel_order.order_id}"
            )
        if intent == "set_product_status" and command.set_product_status.status == cmd.PRODUCT_STATUS_ARCHIVED:
            return say(f"将归档{command.set_product_status.sku}", f"This archives {command.set_product_status.sku}")
        if intent == "set_stock" and command.set_stock.quantity == 0:
            return say(f"将把{command.set_stock.sku}的库存清零", f"This sets the stock of {command.set_stock.sku} to 0")
        if intent == "set_guardrail":
            return guardrail.proposal(command.set_guardrail, chinese)
        if intent in ("set_price", "adjust_price"):
            change = await self._price_change_pct(command, merchant_id)
            if change is not None and abs(change) > self.confirm_price_change_pct:
                sku = slots_of(command).sku
                return say(f"{sku}的价格将变化{change:+.0f}%", f"This changes the price of {sku} by {change:+.0f}%")
        return ""

    async def _price_change_pct(self, command: cmd.Command, merchant_id: str) -> Decimal | None:
        if intent_of(command) == "adjust_price" and command.adjust_price.WhichOneof("change") == "percent":
            return Decimal(command.adjust_price.percent)
        sku = slots_of(command).sku
        current = await self.price_lookup(merchant_id, sku)
        if current is None:
            return None  # unknown SKU: the owning service will refuse it
        old = to_decimal(current)
        if intent_of(command) == "set_price":
            new = to_decimal(command.set_price.price)
        else:
            new = old + to_decimal(command.adjust_price.delta)
        if old == 0:
            return Decimal(100) if new else Decimal(0)
        return (new - old) / old * 100


def remember_context(state: DialogueState, command: cmd.Command, change_id: str) -> None:
    """After a command ran: what "it" refers to next time, and what undo reverts."""
    slots = slots_of(command)
    if order_id := getattr(slots, "order_id", ""):
        state.last_order_id = order_id
    if (sku := getattr(slots, "sku", "")) and isinstance(sku, str):
        state.last_sku = sku
    if change_id:
        state.last_change_id = change_id
