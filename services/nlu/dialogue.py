"""The dialogue policy of one session: confirm what is destructive, undo, context, missing slots.

State lives in Redis (one hash per session, with a TTL), so any NLU replica can
take the next turn of any session, and a restarted NLU continues the dialogue.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.nlu import guardrail
from services.nlu.replies import TABLES, joined, render, word
from services.nlu.replies import language as lang_of
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.gateway.v1 import gateway_pb2 as gw
from shopvoice.grammar import Vocabulary
from shopvoice.grammar.index import grammar_for
from shopvoice.money import to_decimal
from shopvoice.permissions import READ_ONLY
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
    "set_product_fact": ("sku",),
}
PriceLookup = Callable[[str, str], Awaitable[Money | None]]  # (merchant_id, sku) -> price
PaidLookup = Callable[[str, str], Awaitable[Money | None]]  # (merchant_id, order_id) -> what was paid
# Changes that undo cannot revert (money went back, a parcel left): remembered as the last change.
IRREVERSIBLE = frozenset({"refund_order", "ship_order", "cancel_order", "confirm_order"})
IRREVERSIBLE_MARK = "irreversible:"
MAX_UNDO_HISTORY = 19  # changes kept before the last one: "undo the last N" reaches 20 back
# A grammar answer below this explained only part of what was said: a change is read back first.
PARTIAL_CONFIDENCE = 0.9
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
    earlier_changes: list[str] = field(default_factory=list)  # before last_change_id, oldest first: undo N
    last_report: cmd.Command | None = None  # the report just given: "上个月呢" asks it again for another period

    def asks(self) -> bool:
        """Whether a question is open: a proposal to confirm or a missing value to give."""
        return self.pending is not None or self.awaiting is not None


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
            earlier_changes=raw.get(b"earlier_changes", b"").decode().split(),
        )
        if raw.get(b"pending"):
            state.pending = cmd.Command.FromString(raw[b"pending"])
        if raw.get(b"awaiting"):
            state.awaiting = cmd.Command.FromString(raw[b"awaiting"])
        if raw.get(b"last_report"):
            state.last_report = cmd.Command.FromString(raw[b"last_report"])
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
            "earlier_changes": " ".join(state.earlier_changes),
            "last_report": state.last_report.SerializeToString() if state.last_report else b"",
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


# What may stand around a period in a follow-up that only changes the period ("上个月呢",
# "and last month?", "what about yesterday"): nothing else may be said.
_FOLLOW_UP_WORDS = re.compile(
    r"^(?:那|那么|那个|还有|再看看|再看|看看|(?:and |ok |okay |so )?(?:what about|how about)|and|same for|same thing for"
    r"|ok|okay|so|for)?\s*"
    r"(?P<period>.+?)\s*(?:呢|的呢|的|怎么样|如何|then|too|as well)?[?？。.!！]*$",
    re.IGNORECASE,
)


def follow_up_period(text: str) -> int:
    """The period of a follow-up that names only a period ("上个月呢", "and last month?"), as
    cmd.Period; 0 when the text says anything else."""
    normalized = normalize(text).text.strip()
    found = _FOLLOW_UP_WORDS.match(normalized)
    if not found:
        return 0
    said = found.group("period").strip()
    for language in ("en", "zh"):
        kinds = grammar_for(language).kinds
        if re.fullmatch(kinds.pattern("period"), said, re.IGNORECASE) and (value := kinds.read("period", said)):
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
        if vocabulary is not None and (sku := vocabulary.match(text).sku):
            return sku
        if m := _SKU.search(text):
            return (m.group(1) + m.group(2)).upper()
    return ""


class Policy:
    def __init__(
        self, price_lookup: PriceLookup, confirm_price_change_pct: Decimal, paid_lookup: PaidLookup | None = None
    ) -> None:
        self.price_lookup = price_lookup
        self.confirm_price_change_pct = confirm_price_change_pct
        self.paid_lookup = paid_lookup

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
        unknown_product: str = "",
        confidence: float = 1.0,
    ) -> Decision:
        """What to do with this turn; updates `state` (the caller saves it)."""
        intent = intent_of(command)
        lang = lang_of(chinese)
        if intent == "confirm":
            if state.pending is None:
                return Decision("nothing_pending", prompt=render("nothing_to_confirm", lang))
            pending, pending_id = state.pending, state.pending_id
            state.pending, state.pending_id = None, ""
            return Decision("execute", pending, pending_id, confirmed=True)
        if intent == "cancel":
            if state.pending is None and state.awaiting is None:
                return Decision("nothing_pending", prompt=render("nothing_to_cancel", lang))
            state.pending, state.pending_id, state.awaiting, state.awaiting_slot = None, "", None, ""
            return Decision("cancelled", prompt=render("cancelled", lang))

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
                candidates, unknown_product = None, ""
                confidence = 1.0  # the answer to our own question: the command was understood before
        state.awaiting, state.awaiting_slot = None, ""
        state.pending, state.pending_id = None, ""  # a new command drops an unconfirmed one
        if intent == "unknown" and state.last_report is not None and (period := follow_up_period(text)):
            # "上个月呢" right after a report: the same report for the new period (in place: what
            # was understood, as the session is told, is this report).
            command.CopyFrom(state.last_report)
            command.sales_report.period = period  # type: ignore[assignment]
            command.sales_report.ClearField("compare_period")
            intent, confidence = "sales_report", 1.0

        if candidates:
            state.awaiting, state.awaiting_slot = command, "sku"
            prompt = which_one(candidates, vocabulary, chinese)
            return Decision("ask", command, prompt=prompt, missing_slot="sku", candidates=tuple(candidates))
        if unknown_product:
            # A name said that is no product of the shop: said so, and asked, never guessed.
            state.awaiting, state.awaiting_slot = command, "sku"
            prompt = render("unknown_product", lang, name=unknown_product)
            return Decision("ask", command, prompt=prompt, missing_slot="sku")
        self._fill_from_context(state, command)
        export = command.export_report
        if intent == "export_report" and export.report != cmd.REPORT_PRODUCTS and not export.HasField("period"):
            state.awaiting, state.awaiting_slot = command, "period"  # sales and orders are of a period
            return Decision("ask", command, prompt=render("ask_period", lang), missing_slot="period")
        for slot in REQUIRED.get(intent, ()):
            if not has_slot(command, slot):
                state.awaiting, state.awaiting_slot = command, slot
                return Decision("ask", command, prompt=render(f"ask_{slot}", lang), missing_slot=slot)

        if intent.startswith("bulk_"):
            return self._propose_bulk(state, command, utterance_id, vocabulary, chinese)
        if intent == "refund_order" and command.refund_order.HasField("fraction"):
            asked = await self._fraction_to_amount(command, merchant_id, chinese)
            if asked is not None:
                return asked
        reason = await self._destructive(command, merchant_id, chinese)
        if intent == "undo" and not reason and state.last_change_id.startswith("bulk:"):
            # Undoing a bulk change moves many prices at once: proposed, and the "yes" travels to
            # the worker as the confirmation the catalog's guardrails ask of a bulk change.
            reason = render("undo_bulk_question", lang)
        if not reason and confidence < PARTIAL_CONFIDENCE and intent not in READ_ONLY:  # a read is never proposed
            # Part of the sentence was not understood ("… with DHL 1234567890"): a change is read
            # back before it runs, so nothing said is dropped silently.
            reason = render("partial", lang, readback=readback(command, chinese))
        if reason:
            state.pending, state.pending_id = command, utterance_id
            return Decision("propose", command, utterance_id, prompt=reason)
        return Decision("execute", command, utterance_id)

    @staticmethod
    def _propose_bulk(
        state: DialogueState, command: cmd.Command, utterance_id: str, vocabulary: Vocabulary | None, chinese: bool
    ) -> Decision:
        """A bulk change is always proposed, with how many products it covers and three of them;
        what is confirmed is that list (the pending command names the SKUs), not a search redone
        later. No product selected: said, nothing pending."""
        slots = slots_of(command)
        lang = lang_of(chinese)
        if vocabulary is None:
            return Decision("cancelled", command, prompt=render("catalog_unreadable", lang))
        skus = list(slots.skus) or list(
            vocabulary.index.select(
                slots.query if slots.HasField("query") else None,
                _STATUS_WORDS.get(slots.status) if slots.HasField("status") else None,
            )
        )
        if not skus:
            return Decision("cancelled", command, prompt=render("no_products_match", lang))
        pending = cmd.Command()
        pending.CopyFrom(command)
        chosen = slots_of(pending)
        chosen.ClearField("query")
        chosen.ClearField("status")
        del chosen.skus[:]
        chosen.skus.extend(skus)
        titles = dict(vocabulary.products) | {p.sku: p.title for p in vocabulary.index.products}
        examples = [f"{sku} {titles.get(sku, '')}".strip() for sku in skus[:3]]
        prompt = render(
            "bulk_proposal",
            lang,
            change=bulk_change_words(command, chinese),
            count=len(skus),
            examples=joined(examples, lang),
            more=render("bulk_more", lang) if len(skus) > 3 else "",
        )
        state.pending, state.pending_id = pending, utterance_id
        return Decision("propose", pending, utterance_id, prompt=prompt)

    async def _fraction_to_amount(self, command: cmd.Command, merchant_id: str, chinese: bool) -> Decision | None:
        """退一半 / "refund half": the amount from what the order's customer paid, read back by the
        proposal; an order whose payment cannot be read is a question, never a guess."""
        slots = command.refund_order
        paid = await self.paid_lookup(merchant_id, slots.order_id) if self.paid_lookup else None
        if paid is None:
            return Decision(
                "cancelled", command, prompt=render("paid_unknown", lang_of(chinese), order_id=slots.order_id)
            )
        amount = (to_decimal(paid) * Decimal(slots.fraction)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        slots.ClearField("fraction")
        slots.amount.CopyFrom(Money(units=int(amount), nanos=int((amount - int(amount)) * 1_000_000_000)))
        return None

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
        lang = lang_of(chinese)

        def ask(reason: str, **fields: object) -> str:
            return render("confirm_question", lang, reason=render(reason, lang, **fields))

        if intent == "undo" and command.undo.count > 1:
            return ask("undo_several_reason", count=command.undo.count)
        if intent == "refund_order":
            slots = command.refund_order
            amount = f" {to_decimal(slots.amount):.2f}" if slots.HasField("amount") else render("in_full", lang)
            return ask("refund_reason", order_id=slots.order_id, amount=amount)
        if intent == "cancel_order":
            return ask("cancel_reason", order_id=command.cancel_order.order_id)
        if intent == "set_product_status" and command.set_product_status.status == cmd.PRODUCT_STATUS_ARCHIVED:
            return ask("archive_reason", sku=command.set_product_status.sku)
        if intent == "set_stock" and command.set_stock.quantity == 0:
            return ask("clear_stock_reason", sku=command.set_stock.sku)
        if intent == "set_guardrail":
            return guardrail.proposal(command.set_guardrail, chinese)
        if intent in ("set_price", "adjust_price"):
            change = await self._price_change_pct(command, merchant_id)
            if change is not None and abs(change) > self.confirm_price_change_pct:
                return ask("price_change_reason", sku=slots_of(command).sku, change=f"{change:+.0f}%")
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
    if intent_of(command) == "undo":
        # What was undone leaves the history: the next 撤销 reverts the change before it.
        for _ in range(command.undo.count if command.undo.HasField("count") else 1):
            state.last_change_id = state.earlier_changes.pop() if state.earlier_changes else ""
    elif change_id or intent_of(command) in IRREVERSIBLE:
        # An irreversible step is remembered too: 撤销 then says it cannot, and never reverts an
        # older price change in its place.
        if state.last_change_id:
            state.earlier_changes = [*state.earlier_changes, state.last_change_id][-MAX_UNDO_HISTORY:]
        state.last_change_id = change_id or IRREVERSIBLE_MARK + intent_of(command)
    if intent_of(command) == "sales_report":
        state.last_report = command


def which_one(candidates: list[str] | tuple[str, ...], vocabulary: Vocabulary | None, chinese: bool) -> str:
    """ "Which one: A100 红色T恤 or A101 白色T恤?", the candidates named with their titles."""
    titles = dict(vocabulary.products) if vocabulary is not None else {}
    named = [f"{sku} {titles[sku]}" if titles.get(sku) else sku for sku in candidates]
    lang = lang_of(chinese)
    choices = render("either", lang, items=joined(named[:-1], lang), last=named[-1]) if len(named) > 1 else named[-1]
    return render("which_one", lang, choices=choices)


def readback(command: cmd.Command, chinese: bool) -> str:
    """The command in the merchant's words, with the values understood (for a read-back)."""
    intent = intent_of(command)
    slots = slots_of(command)
    lang = lang_of(chinese)
    values: dict[str, str] = {}
    for descriptor in slots.DESCRIPTOR.fields:
        value = getattr(slots, descriptor.name)
        if isinstance(value, Money):
            values[descriptor.name] = f"{to_decimal(value):.2f}" if slots.HasField(descriptor.name) else ""
        elif descriptor.enum_type is not None:
            name = descriptor.enum_type.values_by_number[value].name.split("_")[-1].lower() if value else ""
            values[descriptor.name] = word("status_said", name, lang) if name else ""
        elif not descriptor.is_repeated:
            values[descriptor.name] = str(value)
    values["change"] = (slots.percent + "%") if getattr(slots, "percent", "") else values.get("delta", "")
    if intent == "ship_order":
        values["carrier"] = f" {word('carrier', slots.carrier, lang)}" if slots.carrier else ""
        values["tracking_number"] = f" {slots.tracking_number}" if slots.tracking_number else ""
    if intent == "refund_order":
        values["amount"] = f" {values['amount']}" if values.get("amount") else render("in_full", lang)
    if intent == "set_product_fact":
        values["name"] = word("fact", values.get("name", ""), lang)
    if intent == "set_guardrail":
        values["limits"] = guardrail.limits(command.set_guardrail, chinese)
    key = f"readback_{intent}"
    return render(key if key in READBACK_KEYS else "readback_other", lang, **values)


READBACK_KEYS = frozenset(key for key in TABLES["en"]["text"] if key.startswith("readback_"))


def denial(rule: str, command: cmd.Command, chinese: bool) -> str:
    """A permission denial (shopvoice.permissions: its `rule`), with the command as the merchant said it."""
    lang = lang_of(chinese)
    key = f"denied_{rule}"
    return render(key if key in DENIAL_KEYS else "denied_other", lang, what=readback(command, chinese))


DENIAL_KEYS = frozenset(key for key in TABLES["en"]["text"] if key.startswith("denied_"))


_STATUS_WORDS = {
    cmd.PRODUCT_STATUS_ACTIVE: "active",
    cmd.PRODUCT_STATUS_DRAFT: "draft",
    cmd.PRODUCT_STATUS_ARCHIVED: "archived",
}


def bulk_change_words(command: cmd.Command, chinese: bool) -> str:
    """What a bulk command does, in the merchant's words: "价格下调20%", "raise prices by 5%"."""
    intent = intent_of(command)
    slots = slots_of(command)
    lang = lang_of(chinese)
    if intent == "bulk_set_price":
        return render("bulk_set_price", lang, price=f"{to_decimal(slots.price):.2f}")
    if intent == "bulk_adjust_price":
        if slots.WhichOneof("change") == "percent":
            pct = Decimal(slots.percent)
            return render("bulk_raise_percent" if pct > 0 else "bulk_lower_percent", lang, percent=f"{abs(pct):g}")
        delta = to_decimal(slots.delta)
        return render("bulk_raise_delta" if delta > 0 else "bulk_lower_delta", lang, delta=f"{abs(delta):.2f}")
    if intent == "bulk_set_stock":
        return render("bulk_set_stock", lang, quantity=slots.quantity)
    return render("bulk_add_stock" if slots.delta > 0 else "bulk_remove_stock", lang, delta=abs(slots.delta))
