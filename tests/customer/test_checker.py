"""The fact checker on crafted answers, and the LLM writer falling back when it fails."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from services.support.checker import ungrounded
from services.support.facts import Facts
from services.support.writer import AnswerWriter
from shopvoice.llm.breaker import CircuitBreaker
from shopvoice.llm.client import Completion, LlmUnavailable

FACTS = "\n".join(["1234", "已发货", "顺丰", "SF1234567890", "2024-05-01", "89.00 CNY", "签收后7天内可无理由退货"])


@pytest.mark.parametrize(
    "answer",
    [
        "您的订单1234已于2024-05-01由顺丰发出，运单号SF1234567890。",
        "Your order 1234 shipped on 2024-05-01, tracking number SF1234567890.",
        "It costs 89.00 CNY (¥89).",
        "签收后七天内可以无理由退货。",
        "You can return it within seven days.",
        "No numbers at all, a person will reply.",
    ],
)
def test_grounded_answers_pass(answer: str) -> None:
    assert ungrounded(answer, FACTS) == []


@pytest.mark.parametrize(
    ("answer", "invented"),
    [
        ("Your order 1235 has shipped.", "1235"),
        ("It was shipped on 2024-05-02.", "2024-05-02"),
        ("Tracking number SF1234567891.", "sf1234567891"),
        ("It costs 79.00 CNY.", "79.00"),
        ("今天打八五折，只要75元。", "75"),
        ("三天内送达。", "3"),
        ("It will arrive in three days.", "3"),
        ("Tracking SF999.", "sf999"),
        ("Use coupon SAVE20.", "save20"),
    ],
)
def test_invented_figures_are_caught(answer: str, invented: str) -> None:
    assert invented in ungrounded(answer, FACTS)


def test_a_number_from_the_question_may_be_repeated() -> None:
    assert ungrounded("I couldn't find order 777.", FACTS, question="where is order 777") == []
    assert ungrounded("I couldn't find order 777.", FACTS) == ["777"]


class FakeClient:
    """Stands in for VllmClient: returns a crafted answer (or fails) without a server."""

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.calls = 0

    async def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], deadline_s: float) -> Completion:
        self.calls += 1
        if self.answer is None:
            raise LlmUnavailable("unreachable")
        return Completion(json.dumps({"answer": self.answer}), "stop")


def _write(client: FakeClient, breaker: CircuitBreaker | None = None) -> str | None:
    facts = Facts([("order.id", "1234"), ("shipment.tracking", "SF1234567890")])
    writer = AnswerWriter(client, breaker or CircuitBreaker(3, 30), 1.0)  # type: ignore[arg-type]
    return asyncio.run(writer.write("where is order 1234", facts, "draft", "en"))


def test_the_llm_answer_is_used_when_it_passes_the_check() -> None:
    assert _write(FakeClient("Good news: order 1234 is on its way (SF1234567890).")) is not None


def test_an_llm_answer_with_an_invented_tracking_number_is_refused() -> None:
    assert _write(FakeClient("Order 1234 is on its way, tracking SF0000000000.")) is None


def test_an_llm_answer_with_an_invented_date_is_refused() -> None:
    assert _write(FakeClient("Order 1234 will arrive on 2024-06-01.")) is None


def test_an_unavailable_llm_means_the_template_and_opens_the_breaker() -> None:
    client, breaker = FakeClient(None), CircuitBreaker(2, 30)
    assert _write(client, breaker) is None and _write(client, breaker) is None
    assert _write(client, breaker) is None
    assert client.calls == 2  # the breaker opened: the third question did not wait on the model


def test_a_number_word_that_opens_a_fact_grounds_the_same_word_inside_an_answer() -> None:
    facts = "M3\nWool socks\none size, fits EU shoe sizes 35 to 44"
    assert ungrounded("Wool socks — sizes: one size, fits EU shoe sizes 35 to 44.", facts) == []
    assert ungrounded("Wool socks — sizes: two sizes, 35 to 44.", facts) == ["2"]
