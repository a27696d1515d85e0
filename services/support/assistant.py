"""One customer question in, one answer out: read, gather facts, render, check, record.

The decision, in order:
1. A hand-off cue (a person asked for, a complaint or dispute, a topic no fact or policy
   covers such as coupons) opens a ticket at once, whatever else the question says.
2. An order the question names (or the one just discussed) is answered from the orders
   service; another customer's order reads exactly as a missing one. "Cancel order 12"
   goes to a person; "can I still cancel order 12?" is answered from the policy.
3. A policy topic (shipping, returns, warranty, payment, ...) is answered from the
   merchant's text, without its sentences about other products only.
4. A product question (a fact, price or stock) about the products the question names
   (services/support/resolve.py), or, naming none, about the last answer's product when
   there was exactly one; several ask which, none asks for the product. A fact the shop
   has not written goes to a person.
5. Small talk (hello, thanks, bye) is answered briefly; anything else goes to a person.
The template answer is rendered from facts alone; with an LLM configured it rewrites the
answer from the same facts, and its text is used only if the fact check passes. Every
answer is checked before it leaves; one that fails is handed off.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.support import checker, entities, intents, replies, store
from services.support.facts import Facts
from services.support.resolve import ProductNames, Resolution
from services.support.shopdata import ShopData, ShopProduct, order_facts, variant_facts
from services.support.writer import AnswerWriter
from shopvoice import log
from shopvoice.db import Pool
from shopvoice.errors import InvalidArgument
from shopvoice.support.v1 import support_pb2 as pb
from shopvoice.text import Normalized

MAX_TEXT_CHARS = 2000
MAX_ID_CHARS = 100
POLICY_TOPICS = (
    "shipping",
    "returns",
    "change_address",
    "invoice",
    "warranty",
    "payment",
    "cancellation",
    "service_hours",
)
STORE_TOPIC = {"change_address": "address_change"}
#: Cue keys that are another key's topic under a higher priority ("会不会自动取消" of an unpaid
#: order is the payment policy's, ahead of cancellation's cues).
SAME_TOPIC = {"unpaid": "payment"}
ORDER_INTENTS = ("order_status", "carrier")
HANDOFF_REASONS = {
    "human": "asks_for_person",
    "complaint": "complaint",
    "cancel_request": "request",
    "unanswered": "unanswered",
}
#: A fact the product lacks may be answered by a near one ("how big" is the tote's
#: dimensions, the thermos's capacity).
RELATED_FACTS = {"size": ("dimensions", "capacity", "sizes"), "fit": ("sizes",), "sizes": ("dimensions", "capacity")}
#: Where a product lacks the fact asked for, another of its facts answers when its value
#: holds one of these words ("waterproof?" of a bag whose material is "water-repellent").
FACT_HINTS = {
    "waterproof": ("water", "防水", "泼水", "防溅", "ipx"),
    "hot_drinks": ("hot", "boiling", "insulated", "cold", "保温", "开水", "热", "冷水"),
    "laptop": ("laptop", "电脑"),
    "sizes": ("size", "fits", "码", "均码"),
    "material": ("cotton", "polyester", "steel", "wool", "棉", "涤纶", "不锈钢", "羊毛"),
}
_HAN = re.compile(r"[\u4e00-\u9fff]")
# A question rather than a request: "can I still cancel order 12?" is answered from the policy.
_QUESTION = re.compile(
    r"\?|？|吗|么|能不能|可不可以|会不会|是不是|怎么|如何|\b(?:can|could|how|is it possible|do i|may i|will)\b", re.I
)


def staff_message(row: dict[str, Any]) -> pb.StaffMessage:
    message = pb.StaffMessage(message_id=str(row["message_id"]), ticket_id=str(row["ticket_id"]), text=row["body"])
    message.at.FromDatetime(row["created_at"])
    return message


@dataclass
class Draft:
    """An answer before it is recorded."""

    kind: int
    intent: str
    facts: Facts
    text: str = ""
    handoff_reason: str = ""
    staff: list[pb.StaffMessage] = field(default_factory=list)


class Assistant:
    def __init__(self, pool: Pool, shop: ShopData, writer: AnswerWriter | None) -> None:
        self.pool = pool
        self.shop = shop
        self.writer = writer
        self._names: dict[str, tuple[tuple[ShopProduct, ...], ProductNames]] = {}

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

        normalized = intents.read(text)
        language = ask.language if ask.language in ("zh", "en") else _language(text, history, normalized.language)
        draft = await self._decide(merchant_id, customer_id, text, normalized, language, history)
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
            since = history[-1].at if history else None
            for row in await store.staff_replies(conn, merchant_id, customer_id, conversation_id):
                if since is None or row["created_at"] > since:
                    answer.staff_replies.append(staff_message(row))
            if not await store.save_turn(conn, merchant_id, customer_id, conversation_id, ask.turn_id, text, answer):
                replayed = await store.replay(conn, merchant_id, customer_id, conversation_id, ask.turn_id)
                if replayed is not None:
                    return replayed
        return answer

    async def names(self, merchant_id: str) -> ProductNames:
        products = await self.shop.products(merchant_id)
        cached = self._names.get(merchant_id)
        if cached is None or cached[0] is not products:
            cached = (products, ProductNames(products))
            self._names[merchant_id] = cached
        return cached[1]

    async def _decide(
        self,
        merchant_id: str,
        customer_id: str,
        raw: str,
        normalized: Normalized,
        language: str,
        history: list[store.TurnRow],
    ) -> Draft:
        facts = Facts()
        last = history[-1].answer if history else None
        names = await self.names(merchant_id)
        offered = [f.value for f in last.facts_used if f.name == "offered.sku"] if last else []
        context = _context(history)
        found_names = names.resolve(raw, normalized.text, offered, context)
        rest = found_names.without_names()
        cue_text = f"{intents.read(rest).text.casefold()}\n{raw.casefold() if not found_names.spans else ''}\n{rest}"
        found = list(dict.fromkeys(SAME_TOPIC.get(key, key) for key in intents.find(language, "intents", cue_text)))
        asked_facts = intents.find(language, "facts", cue_text)
        top = found[0] if found else ""

        if top in intents.HANDOFF_INTENTS:
            return Draft(pb.ANSWER_KIND_HANDED_OFF, top, facts, handoff_reason=HANDOFF_REASONS[top])
        if top == "service_hours":
            return await self._policy(merchant_id, "service_hours", language, facts)

        order_talk = last is not None and last.intent in ORDER_INTENTS
        about_order = order_talk or bool({"order_status", "carrier", "order", "returns", "change_address"} & set(found))
        order_id = entities.order_id(normalized, raw, lone=about_order and not found_names.named and not asked_facts)
        if order_id and found_names.skus and asked_facts:
            order_id = ""  # "订单12里的保温杯能放洗碗机吗" asks about the product
        if order_id:
            if top == "cancellation" and not _QUESTION.search(raw):  # "cancel order 1234": a person acts
                return Draft(pb.ANSWER_KIND_HANDED_OFF, "cancel_request", facts, handoff_reason="request")
            order = await self.shop.order(merchant_id, customer_id, order_id)
            if order is None:
                facts.add("question.order_id", order_id)
                return Draft(pb.ANSWER_KIND_NEEDS_INFO, "order_status", facts, replies.order_not_found(facts, language))
            order_facts(facts, order, language)
            policy = next((t for t in found if t in ("change_address", "returns", "cancellation", "payment")), "")
            if policy:
                return await self._policy(merchant_id, policy, language, facts)
            return Draft(pb.ANSWER_KIND_ANSWERED, "order_status", facts, replies.order_status(facts, language))
        remembered_order = _remembered(history[-3:], "order.id")
        if top in ORDER_INTENTS and (remembered_order or top == "order_status"):
            return await self._order_status(merchant_id, customer_id, remembered_order, language, facts)

        if top in POLICY_TOPICS and not (top == "warranty" and found_names.skus and "warranty" in asked_facts):
            return await self._policy(merchant_id, top, language, facts, found_names.skus, names)
        if top == "carrier":
            return await self._policy(merchant_id, "shipping", language, facts)

        if "price_strong" in found:  # "多少钱一包" asks the price, whatever else it says
            found = ["price" if i == "price_strong" else i for i in found]
            asked_facts = []
        topic = asked_facts[0] if asked_facts else "price" if "price" in found else "stock" if "stock" in found else ""
        if not topic and "stock_weak" in found:
            # "瑜伽垫有没有" asks about stock; "瑜伽垫有没有异味" about something else: its facts say.
            rest_of_it = intents.strip(language, "intents", "stock_weak", cue_text.split("\n")[-1])
            if not _says_more(rest_of_it, language):
                topic = "stock"
            elif found_names.named or context:
                topic = "?"  # about the product, but not its stock: its facts answer or a person does
        if topic == "price" and "stock" in found:
            topic = "product"  # "how much are they and are they in stock"
        if found_names.named or (topic and context and (asked_facts or top not in ("shipping_weak", "order"))):
            asked = _Asked(raw, normalized, found, cue_text, language, asked_facts)
            return await self._products(merchant_id, found_names, topic, asked, history, names)
        if topic:
            return self._which(pb.ANSWER_KIND_NEEDS_INFO, topic, [], names, language)
        chat = intents.find(language, "small_talk", cue_text)
        general = bool(intents.find(language, "general", cue_text))
        if (
            order_talk
            and remembered_order
            and top in ("", "shipping_weak", "order")
            and not (chat and not top)
            and not general
        ):
            # "when will it arrive?" right after an order's status is about that order; "how long
            # does delivery usually take" is the policy's
            return await self._order_status(merchant_id, customer_id, remembered_order, language, facts)
        if top == "shipping_weak":
            return await self._policy(merchant_id, "shipping", language, facts)
        if top == "order":
            return await self._order_status(merchant_id, customer_id, remembered_order, language, facts)
        if chat:
            return Draft(pb.ANSWER_KIND_SMALL_TALK, chat[0], facts, replies.small_talk(chat[0], language))
        if len(context) == 1 and _says_more(cue_text, language):
            # "是304的吗" right after the bottle: about it only if one of its facts says so.
            known = await self.shop.facts(merchant_id, context[0], language)
            if _fact_for(["?"], known, cue_text, language):
                asked = _Asked(raw, normalized, found, cue_text, language, asked_facts)
                return await self._products(merchant_id, found_names, "", asked, history, names)
        return Draft(pb.ANSWER_KIND_HANDED_OFF, "unknown", facts, handoff_reason="unanswered")

    async def _order_status(
        self, merchant_id: str, customer_id: str, order_id: str, language: str, facts: Facts
    ) -> Draft:
        if not order_id:
            return Draft(pb.ANSWER_KIND_NEEDS_INFO, "order_status", facts, replies.need_order_id(language))
        order = await self.shop.order(merchant_id, customer_id, order_id)
        if order is None:
            facts.add("question.order_id", order_id)
            return Draft(pb.ANSWER_KIND_NEEDS_INFO, "order_status", facts, replies.order_not_found(facts, language))
        order_facts(facts, order, language)
        return Draft(pb.ANSWER_KIND_ANSWERED, "order_status", facts, replies.order_status(facts, language))

    async def _policy(
        self,
        merchant_id: str,
        topic: str,
        language: str,
        facts: Facts,
        about: Sequence[str] = (),
        names: ProductNames | None = None,
    ) -> Draft:
        stored = STORE_TOPIC.get(topic, topic)
        async with self.pool.connection() as conn:
            body = await store.policy_text(conn, merchant_id, stored, language)
        if body and about and names is not None:
            body = _about_these(body, about, names)
        if not body:
            return Draft(pb.ANSWER_KIND_HANDED_OFF, topic, Facts(), handoff_reason="unanswered")
        facts.add(f"policy.{stored}", body)
        return Draft(pb.ANSWER_KIND_ANSWERED, topic, facts, replies.policy(facts, stored, language))

    def _which(self, kind: int, topic: str, candidates: Sequence[str], names: ProductNames, language: str) -> Draft:
        facts = Facts()
        for sku in candidates:
            product = names.product(sku)
            if product is not None:
                facts.add("candidate.sku", sku)
                facts.add("candidate.title", _title(product, language))
                facts.add("offered.sku", sku)
        facts.add("pending.topic", topic)
        return Draft(kind, "which_product", facts, replies.which_product(facts, language))

    async def _products(
        self,
        merchant_id: str,
        found: Resolution,
        topic: str,
        asked: _Asked,
        history: list[store.TurnRow],
        names: ProductNames,
    ) -> Draft:
        cue_text, language = asked.cue_text, asked.language
        last = history[-1].answer if history else None
        pending = next((f.value for f in last.facts_used if f.name == "pending.topic"), "") if last else ""
        skus = list(found.skus)
        if not found.named:
            skus = _context(history)
            if len(skus) > 1:  # "有XXL吗" after two products: which one?
                return self._which(pb.ANSWER_KIND_NEEDS_INFO, topic, skus, names, language)
        elif found.ambiguous and not skus and found.plural and topic in ("price", "stock", "product"):
            skus = list(found.ambiguous)  # "how much are the hoodies": each of them
        elif found.ambiguous and not skus:
            return self._which(pb.ANSWER_KIND_NEEDS_INFO, topic or pending, found.ambiguous, names, language)
        if len(skus) > 1 and not _compares(found.text, language) and not found.plural:
            skus = skus[-1:]  # "I bought the thermos last time; this time the bottle: is it insulated?"
        if not topic:
            if _says_more(cue_text, language):
                topic = "?"  # a question about the product we have no cue for: try its facts
            else:
                topic = pending or _remembered(history[-1:], "about.topic") or "product"

        if topic in ("sizes", "colour"):
            # A shop that sells sizes and colours as variants ("Red / L") answers from them.
            held = [await self.shop.facts(merchant_id, sku, language) for sku in skus]
            several = [sku for sku in skus if (p := names.product(sku)) is not None and len(p.skus) > 1]
            if several and not any(topic in known for known in held):
                topic = "price" if "price" in asked.intents else "stock"
        facts = Facts()
        if topic in ("price", "stock", "product"):
            for sku in skus:
                product = await self.shop.product(merchant_id, sku)
                shown = names.product(sku)
                if product is None or shown is None:
                    continue
                chosen = entities.variants_asked(product, asked.normalized, asked.raw)
                variant_facts(facts, product, chosen, _title(shown, language))
                facts.add("about.sku", shown.sku)
            if not facts.all("about.sku"):
                return self._which(pb.ANSWER_KIND_NEEDS_INFO, topic, [], names, language)
            facts.add("about.topic", topic)
            if topic == "stock":
                text = replies.stock_text(facts, language)
            elif topic == "price":
                text = replies.price_text(facts, language)
            else:
                text = (
                    replies.stock_text(facts, language)
                    + ("" if language == "zh" else " ")
                    + replies.price_text(facts, language)
                )
            return Draft(pb.ANSWER_KIND_ANSWERED, topic, facts, text)

        for index, sku in enumerate(skus):
            shown = names.product(sku)
            if shown is None:
                continue
            known = await self.shop.facts(merchant_id, sku, language)
            wanted = asked.facts if asked.facts and topic == asked.facts[0] else [topic]
            name = _fact_for(wanted, known, cue_text, language)
            if not name and len(skus) == 1 and "warranty" in wanted:
                # the shop's own terms, without what it says of other products
                return await self._policy(merchant_id, "warranty", language, Facts(), skus, names)
            if not name and len(skus) == 1:
                return Draft(pb.ANSWER_KIND_HANDED_OFF, "product_fact", Facts(), handoff_reason="unanswered")
            facts.add("product.sku", shown.sku)
            facts.add("product.title", _title(shown, language))
            facts.add(f"product.{index}.fact", name, keep_empty=True)
            facts.add(f"product.{index}.value", known.get(name, ""), keep_empty=True)
            facts.add("about.sku", shown.sku)
        if not any(n.startswith("product.") and n.endswith(".value") and v for n, v in facts.items):
            return Draft(pb.ANSWER_KIND_HANDED_OFF, "product_fact", Facts(), handoff_reason="unanswered")
        if not facts.all("about.sku"):
            return Draft(pb.ANSWER_KIND_HANDED_OFF, "product_fact", Facts(), handoff_reason="unanswered")
        facts.add("about.topic", topic if topic != "?" else (facts.all("product.0.fact") or ["?"])[0])
        return Draft(pb.ANSWER_KIND_ANSWERED, "product_fact", facts, replies.product_facts(facts, language))


@dataclass(frozen=True)
class _Asked:
    """The question as read: its text, cues and language."""

    raw: str
    normalized: Normalized
    intents: list[str]
    cue_text: str
    language: str
    facts: list[str] = field(default_factory=list)  # the facts asked about, in priority order


def _language(text: str, history: list[store.TurnRow], detected: str) -> str:
    """The question's language: Chinese when Han characters weigh as much as the Latin letters
    ("hi 保温杯多少钱"), English when Latin letters dominate ("is the 保温杯 dishwasher safe?"),
    the conversation's for a question of neither ("👍", "12345")."""
    han, latin = len(_HAN.findall(text)), len(re.findall(r"[A-Za-z]", text))
    if han and han * 3 >= latin:
        return "zh"
    if latin:
        return "en"
    return (history[-1].answer.language if history else "") or detected


_SENTENCE = re.compile(r"[^。！？!?]+?(?:[。！？!?]|\.(?=\s|$)|$)\s*")


def _about_these(policy: str, about: Sequence[str], names: ProductNames) -> str:
    """The policy without its sentences about other products only (asked about the backpack's
    warranty, the earbuds' one-year warranty is not the answer)."""
    kept = []
    for sentence in _SENTENCE.findall(policy):
        named = names.resolve(sentence, sentence)
        mentioned = set(named.skus) | set(named.ambiguous)
        if not mentioned or mentioned & set(about):
            kept.append(sentence)
    return "".join(kept).strip()


def _title(product: ShopProduct, language: str) -> str:
    return product.title_en if language == "en" and product.title_en else product.title


def _context(history: list[store.TurnRow]) -> list[str]:
    """The products the conversation was last about (the latest turn that was about any)."""
    for turn in reversed(history):
        skus = [f.value for f in turn.answer.facts_used if f.name == "about.sku"]
        if skus:
            return skus
    return []


def _content(text: str, language: str) -> list[str]:
    """The words of a question that are neither fillers nor cues: what else it says."""
    fillers = intents.words(language, "fillers") | intents.words("en", "fillers")
    if language == "zh" or _HAN.search(text):
        for filler in sorted(intents.words("zh", "fillers"), key=len, reverse=True):
            text = text.replace(filler, " ")
    han = "".join(_HAN.findall(text))
    words = [w for w in re.findall(r"[a-z]{2,}|\d{2,}", text.casefold()) if w not in fillers]
    return words + ([han[i : i + 2] for i in range(len(han) - 1)] if len(han) >= 2 else [])


def _compares(text: str, language: str) -> bool:
    """Whether the question asks about several products at once ("A or B", "哪个", "A和B")."""
    words = set(re.findall(r"[a-z]+", text))
    return bool(words & intents.words("en", "comparison")) or any(w in text for w in intents.words("zh", "comparison"))


def _says_more(cue_text: str, language: str) -> bool:
    return bool(_content(cue_text.split("\n")[-1], language))


def _fact_for(wanted: list[str], known: dict[str, str], cue_text: str, language: str) -> str:
    """The fact that answers: the first asked that the product has (or a near one), or, with no
    cue ("?"), one whose words the question uses ("是304的吗")."""
    if wanted != ["?"]:
        for topic in wanted:
            for name in (topic, *RELATED_FACTS.get(topic, ())):
                if name in known:
                    return name
        for topic in wanted:
            for name, value in known.items():
                if any(hint in value.casefold() for hint in FACT_HINTS.get(topic, ())):
                    return name
        return ""
    content = _content(cue_text.split("\n")[-1], language)
    for name, value in known.items():
        folded = value.casefold()
        if any((len(word) >= 5 or _HAN.search(word) or word.isdigit()) and word in folded for word in content):
            return name
    return ""


def _remembered(history: list[store.TurnRow], name: str) -> str:
    """The latest value of a fact in this conversation ("and when will it arrive?")."""
    for turn in reversed(history):
        for fact in turn.answer.facts_used:
            if fact.name == name:
                return fact.value
    return ""
