"""LlmParser: the slow path for one utterance, and what it answers when the slow path cannot.

Order of decisions:
1. LLM off (VLLM_URL empty) or breaker open -> the fallback (the grammar's answer, or
   ``unknown``), source "fallback".
2. Ask vLLM under the deadline (one retry of a transient failure). Timeout, server
   unreachable or an error status -> a breaker failure and the fallback.
3. The server answered: its text must be JSON of the contract's shape that converts to a
   Command and passes validate(). Anything else -> ``unknown``, source "llm": the server
   is healthy (no breaker failure), the model's answer is just not executable.
4. Every slot value of that command is checked against the text (ground.py): what was
   not said is dropped, and the dialogue asks for it if the command needs it.

What the model is given: the normalised text (our normaliser reads the numbers), the
catalog products its words may name (candidates.py; also the only SKUs the schema
allows), and the dialogue context, all at the end of a prompt whose long prefix is the
same for every call (prompt.py).

A command that fails validation is never returned, from either source.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from typing import Literal

from prometheus_client import Counter, Histogram

from services.nlu.llm.candidates import Candidate, ambiguous_name, candidates, named_product
from services.nlu.llm.convert import CommandJsonError, json_to_command
from services.nlu.llm.cues import count_of_unsaid_change, price_said_as_change, settle
from services.nlu.llm.ground import codes_in, ground, model_text, numbers_in
from services.nlu.llm.prompt import build_messages
from services.nlu.llm.schema import command_json_schema
from services.nlu.llm.scope import listed_products, rescope, selection_said
from shopvoice import log
from shopvoice.common.v1.command_pb2 import Command, Unknown
from shopvoice.grammar import Vocabulary
from shopvoice.grammar.contract import money_value, validate
from shopvoice.grammar.mentions import fact_word, said_order
from shopvoice.llm.breaker import BreakerState, CircuitBreaker
from shopvoice.llm.client import LlmUnavailable, VllmClient
from shopvoice.llm.config import LlmSettings
from shopvoice.product_facts import FACT_NAMES
from shopvoice.text import detect_language

Source = Literal["llm", "fallback"]
#: The least time between two background warm-ups, and the longest pause between tries of one.
REWARM_AFTER_S = 30.0

ANSWERS = Counter("sv_nlu_llm_answers_total", "LLM path answers by source and outcome", ["source", "outcome"])
LATENCY = Histogram(
    "sv_nlu_llm_request_seconds",
    "Time spent on vLLM per utterance, retry included (only calls that went out)",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
)


@dataclass(frozen=True, slots=True)
class LlmAnswer:
    """The command for an utterance, where it came from, and why (for logs and metrics)."""

    command: Command
    source: Source
    reason: str
    dropped: tuple[str, ...] = ()  # slots the model filled that the text did not say


def outcome(reason: str) -> str:
    """A bounded metrics label for a reason: ok, llm off, breaker open, timeout, unreachable, http, invalid, error."""
    head = reason.split(":", 1)[0]
    return "http" if head.startswith("http ") else head


# The contract's problems with a command that the dialogue completes by asking (dialogue.ASK):
# a price not said ("set the price of A100" -> "At what price?").
ASKED_FOR = frozenset({"price missing"})


def unknown(text: str) -> Command:
    return Command(unknown=Unknown(text=text))


class LlmParser:
    """Holds the client and the breaker; one instance per process, shared by all utterances."""

    def __init__(self, settings: LlmSettings | None = None, breaker: CircuitBreaker | None = None) -> None:
        self.settings = settings or LlmSettings()
        self.breaker = breaker or CircuitBreaker(
            self.settings.vllm_breaker_failures, self.settings.vllm_breaker_reset_s
        )
        self._client = (
            VllmClient(
                self.settings.vllm_url,
                self.settings.vllm_model,
                self.settings.vllm_max_tokens,
                self.settings.vllm_response_format,
            )
            if self.settings.enabled
            else None
        )
        self._warming: asyncio.Task[None] | None = None
        self._warm_started = 0.0

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
        if self._client is not None:
            await self._client.close()

    @property
    def breaker_state(self) -> BreakerState:
        return self.breaker.state

    async def parse(
        self, text: str, fallback: Command | None = None, vocabulary: Vocabulary | None = None, context: str = ""
    ) -> LlmAnswer:
        """The command for ``text`` (see the module docstring); never raises for a server's failure."""
        started = time.monotonic()
        answer = await self._parse(text, fallback, vocabulary, context)
        ANSWERS.labels(answer.source, outcome(answer.reason)).inc()
        log.get().info(
            "llm tail",
            source=answer.source,
            outcome=outcome(answer.reason),
            seconds=round(time.monotonic() - started, 3),
            intent=answer.command.WhichOneof("intent"),
            dropped=list(answer.dropped),
        )
        return answer

    async def warm(self) -> bool:
        """Have the server read the prompt's fixed prefix now (tens of seconds on a CPU, once), not
        during a merchant's first utterance; True when it answered. Not counted by the breaker."""
        if self._client is None:
            return False
        try:
            await self._client.complete(build_messages("undo"), command_json_schema(), self.settings.vllm_warm_s)
        except Exception:
            return False
        return True

    def keep_warm(self) -> None:
        """Warm the server in the background, trying again until it answers, unless a warm-up runs
        or started under REWARM_AFTER_S ago. Called at start and after every timeout or outage:
        a server that started after us, or restarted, has no prefix read, and llama.cpp abandons
        a merchant's request cut at its 3 s deadline before it has read the prefix, so without
        this the tail would time out on every utterance until the NLU restarted."""
        now = time.monotonic()
        if self._client is None or (self._warming is not None and not self._warming.done()):
            return
        if self._warming is not None and now - self._warm_started < REWARM_AFTER_S:
            return
        self._warm_started = now
        self._warming = asyncio.create_task(self._warm_until_answered())

    async def _warm_until_answered(self) -> None:
        pause = 1.0
        while not await self.warm():
            log.get().info("llm warm-up: no answer yet, trying again", after_s=pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, REWARM_AFTER_S)
        log.get().info("llm warm-up: the server has read the prompt's prefix")

    async def _parse(
        self, text: str, fallback: Command | None, vocabulary: Vocabulary | None, context: str
    ) -> LlmAnswer:
        if self._client is None:
            return self._fallback(text, fallback, "llm off")
        if not self.breaker.allow():
            return self._fallback(text, fallback, "breaker open")
        answered = failed = False
        started = time.monotonic()
        said = model_text(text)
        products = candidates(said, vocabulary)
        skus = [p.sku for p in products] + sorted(codes_in(said))
        try:
            completion = await self._client.complete(
                build_messages(said, products=products, context=context),
                command_json_schema(skus),
                self.settings.vllm_timeout_s,
            )
            answered = True
        except LlmUnavailable as exc:
            failed = True
            self.breaker.record_failure()
            if exc.reason in ("timeout", "unreachable"):
                self.keep_warm()  # a server restarted or starved: have it read the prefix again
            return self._fallback(text, fallback, exc.reason)
        except Exception as exc:  # a client bug must not take the utterance down: same as an outage
            failed = True
            self.breaker.record_failure()
            return self._fallback(text, fallback, f"error: {type(exc).__name__}: {str(exc)[:200]}")
        finally:
            LATENCY.observe(time.monotonic() - started)
            if answered:
                self.breaker.record_success()
            elif not failed:
                self.breaker.abandon()  # cancelled mid-call: no outcome to count
        return self._from_llm(text, completion.content, completion.finish_reason, said, skus, products, vocabulary)

    def _from_llm(
        self,
        text: str,
        content: str,
        finish_reason: str,
        said: str | None = None,
        skus: list[str] | None = None,
        products: list[Candidate] | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> LlmAnswer:
        try:
            # strict=False: vLLM's JSON grammar lets a raw control character through inside a string
            # (seen from the test's random model); the schema and validation judge the values.
            command = json_to_command(json.loads(content, strict=False))
        except (json.JSONDecodeError, RecursionError) as exc:
            detail = " (cut at max tokens)" if finish_reason == "length" else ""
            return LlmAnswer(unknown(text), "llm", f"invalid: not JSON{detail}: {exc}")
        except CommandJsonError as exc:
            return LlmAnswer(unknown(text), "llm", f"invalid: {exc}")
        if command.WhichOneof("intent") == "unknown":
            return LlmAnswer(unknown(text), "llm", "ok")  # the utterance as said, not the model's echo of it
        said = model_text(text) if said is None else said
        _one_refund_part(command, said)
        _known_fact(command)
        # "ship it" leaves the order unsaid, as the grammar would: the dialogue fills it.
        problems = validate(command, allow_missing=True)
        if problems:  # malformed: the whole answer is junk, not just a slot
            return LlmAnswer(unknown(text), "llm", "invalid: " + "; ".join(problems))
        dropped = ground(command, said, skus or ())
        command = count_of_unsaid_change(price_said_as_change(command, said), said)
        # What grounding dropped may leave a command that no question can complete ("A100 make
        # it 89 bucks" read as an adjust_price whose percent the model made up): that is no
        # understanding. A missing product, order or price the dialogue asks for.
        if left := [p for p in validate(command, allow_missing=True) if p not in ASKED_FOR]:
            return LlmAnswer(unknown(text), "llm", "invalid once unsaid values were dropped: " + "; ".join(left))
        words = f"{text}\n{said}"  # words as typed, numbers as read
        if vocabulary is not None:
            selection_said(command, said, vocabulary, products or [], text)
        command, refused = rescope(command, words, products or [])
        if not refused:
            command, refused = settle(command, words)
        if refused:
            return LlmAnswer(unknown(text), "llm", "invalid: " + refused)
        if vocabulary is not None:
            command = listed_products(command, said, vocabulary, text)
            _in_said_order(command, said, vocabulary)
        _product_of_sales(command, said, products or [])
        _whole_title_said(command, said, products or [])
        self._keep_ambiguous_names(command, said, products or [])
        return LlmAnswer(command, "llm", "ok", tuple(dropped))

    @staticmethod
    def _keep_ambiguous_names(command: Command, said: str, products: list[Candidate]) -> None:
        """A product picked among several that fit the words equally: the words instead (resolution asks)."""
        intent = command.WhichOneof("intent")
        message = getattr(command, intent) if intent else None
        sku = getattr(message, "sku", "") if message is not None else ""
        if isinstance(sku, str) and sku and (name := ambiguous_name(said, sku, products)):
            message.sku = name  # type: ignore[union-attr]

    def _fallback(self, text: str, fallback: Command | None, reason: str) -> LlmAnswer:
        if fallback is None or validate(fallback):
            return LlmAnswer(unknown(text), "fallback", reason)
        return LlmAnswer(fallback, "fallback", reason)


def _in_said_order(command: Command, said: str, vocabulary: Vocabulary) -> None:
    """A bulk command's ``skus`` in the order the merchant named them (the model may reorder them)."""
    intent = command.WhichOneof("intent")
    message = getattr(command, intent) if intent and intent.startswith("bulk_") else None
    if message is None or len(message.skus) < 2:
        return
    ordered = said_order(list(message.skus), said, detect_language(said), vocabulary)
    if ordered is not None:
        del message.skus[:]
        message.skus.extend(ordered)


def _product_of_sales(command: Command, said: str, products: list[Candidate]) -> None:
    """A sales question about a product the model answered for the whole shop ("how did the earbuds
    do in the past week", 保温杯本月和上月的销售额对比一下): the product its words name, or the
    name as said where it fits several equally (resolution asks which). A product said is never
    dropped silently; a shop-wide answer to a product's question would be a wrong figure."""
    if command.WhichOneof("intent") != "sales_report" or command.sales_report.HasField("sku"):
        return
    if named := named_product(said, products):
        command.sales_report.sku = named


def _whole_title_said(command: Command, said: str, products: list[Candidate]) -> None:
    """The one product whose whole title was said, where the model picked another that fits the words
    less ("i want the white t shirt at seventy five" answered with the red T-shirt): a wrong product
    is a wrong action. A code said for the model's pick stands. In place."""
    intent = command.WhichOneof("intent")
    message = getattr(command, intent) if intent else None
    chosen = getattr(message, "sku", "") if message is not None else ""
    if not isinstance(chosen, str) or not chosen or chosen.upper() in codes_in(said):
        return
    whole = [c for c in products if c.score >= 100]
    scores = {c.sku: c.score for c in products}
    if len(whole) == 1 and chosen in scores and scores[chosen] < 100:
        message.sku = whole[0].sku  # type: ignore[union-attr]


def _known_fact(command: Command) -> None:
    """A fact the model named in its own words ("factory warranty" for 保修, 容量 for capacity): the
    contract's name it holds or the grammar's fact words read, where that is one. In place."""
    if command.WhichOneof("intent") != "set_product_fact" or command.set_product_fact.name in FACT_NAMES:
        return
    name = command.set_product_fact.name
    words = set(re.split(r"[\s_-]+", name.casefold()))
    held = [fact for fact in FACT_NAMES if fact in words or fact.replace("_", " ") in name.casefold()]
    read = {r for language in ("zh", "en") if isinstance(r := fact_word(name, language), str)}
    found = set(held) | read
    if len(found) == 1:
        command.set_product_fact.name = found.pop()


def _one_refund_part(command: Command, said: str) -> None:
    """A refund the model wrote with both an amount and a fraction (订单8890 退一半钱给客户 with an
    amount made up): the one the words say is kept, so the answer is not thrown away as malformed."""
    if command.WhichOneof("intent") != "refund_order":
        return
    refund = command.refund_order
    if refund.HasField("amount") and refund.HasField("fraction"):
        said_amount = money_value(refund.amount) in numbers_in(said)
        refund.ClearField("fraction" if said_amount else "amount")
