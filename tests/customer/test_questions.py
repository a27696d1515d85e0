"""The customer question set through the real stack: accuracy per category, and the
fact-grounding property over every answer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from services.support.checker import ungrounded
from shopvoice.support.v1 import support_pb2 as sup
from tests.customer import shop
from tests.customer.conftest import CustomerStack

QUESTIONS = Path(__file__).parent / "questions.yaml"
KINDS = {
    "answered": sup.ANSWER_KIND_ANSWERED,
    "handed_off": sup.ANSWER_KIND_HANDED_OFF,
    "needs_info": sup.ANSWER_KIND_NEEDS_INFO,
    "small_talk": sup.ANSWER_KIND_SMALL_TALK,
}
REQUIRED_ACCURACY = 0.95


@dataclass
class Case:
    category: str
    text: str
    kind: str
    expect: list[str]
    forbid: list[str]
    merchant: str
    customer: str


@dataclass
class Outcome:
    case: Case
    answer: sup.Answer
    problems: list[str] = field(default_factory=list)


def load_cases() -> list[Case]:
    cases = []
    for group in yaml.safe_load(QUESTIONS.read_text(encoding="utf-8")):
        for text in group["questions"]:
            cases.append(
                Case(
                    group["category"],
                    str(text),
                    group["kind"],
                    list(group.get("expect", [])),
                    list(group.get("forbid", [])),
                    group.get("merchant", shop.SHOP_A),
                    group.get("customer", "cust-1"),
                )
            )
    return cases


def judge(stack: CustomerStack, case: Case, answer: sup.Answer) -> list[str]:
    problems = []
    if answer.kind != KINDS[case.kind]:
        problems.append(f"kind {sup.AnswerKind.Name(answer.kind)}, expected {case.kind}")
    folded = answer.text.casefold()
    for item in case.expect:
        options = [stack.seeded.fill(o).casefold() for o in item.split("|")]
        if not any(o in folded for o in options):
            problems.append(f"missing {item!r}")
    for item in case.forbid:
        if stack.seeded.fill(item).casefold() in folded:
            problems.append(f"contains {item!r}")
    return problems


@pytest.fixture(scope="module")
def outcomes(customer_stack: CustomerStack) -> list[Outcome]:
    results = []
    for case in load_cases():
        answer = customer_stack.ask(case.text, merchant=case.merchant, customer=case.customer)
        results.append(Outcome(case, answer, judge(customer_stack, case, answer)))
    return results


def test_the_set_has_at_least_200_questions_in_both_languages() -> None:
    cases = load_cases()
    chinese = [c for c in cases if any("\u4e00" <= ch <= "\u9fff" for ch in c.text)]
    assert len(cases) >= 200
    assert len(chinese) >= 80 and len(cases) - len(chinese) >= 80


def test_accuracy_per_category_and_overall(outcomes: list[Outcome]) -> None:
    by_category: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_category[outcome.case.category].append(outcome)
    print()
    for category, items in by_category.items():
        right = sum(not o.problems for o in items)
        print(f"{category:34s} {right:3d}/{len(items):3d}  {right / len(items):6.1%}")
    wrong = [o for o in outcomes if o.problems]
    for o in wrong:
        print(f"WRONG [{o.case.category}] {o.case.text!r} -> {o.answer.text!r}: {'; '.join(o.problems)}")
    accuracy = 1 - len(wrong) / len(outcomes)
    print(f"overall {len(outcomes) - len(wrong)}/{len(outcomes)} = {accuracy:.1%}")
    assert accuracy >= REQUIRED_ACCURACY


def test_no_answer_states_a_number_or_id_absent_from_its_facts(outcomes: list[Outcome]) -> None:
    """The property over the whole set: every digit-bearing token of every answer is in
    the facts the answer lists (the question does not count)."""
    for outcome in outcomes:
        facts = "\n".join(f.value for f in outcome.answer.facts_used)
        assert ungrounded(outcome.answer.text, facts) == [], (outcome.case.text, outcome.answer.text)


def test_handed_off_answers_carry_a_ticket_and_others_do_not(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        handed_off = outcome.answer.kind == sup.ANSWER_KIND_HANDED_OFF
        assert bool(outcome.answer.ticket_id) == handed_off, outcome.case.text


def test_no_shop_a_answer_mentions_shop_b(outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.case.merchant == shop.SHOP_A:
            for leak in (shop.SHOP_B_MARKER, shop.SHOP_B_TRACKING, "紫色雨伞", "66.00"):
                assert leak not in outcome.answer.text, (outcome.case.text, outcome.answer.text)
            if outcome.case.customer == "cust-1":
                assert shop.OTHER_TRACKING not in outcome.answer.text
