"""The few-shot prompt: every intent shown, every example a valid command, templates rendered plainly."""

from __future__ import annotations

import json

from services.nlu.llm import json_to_command
from services.nlu.llm.candidates import Candidate
from services.nlu.llm.prompt import build_messages, check_examples, examples, render_template, system_prompt
from services.nlu.llm.slots import INTENTS

RULES = {"order": "[the|this] order [number]", "ba": "(把|将)"}
LISTS = {"carrier": {"sf express": "SF", "ups": "UPS"}}


def test_every_intent_has_an_example_and_every_example_is_valid() -> None:
    shown = {e.answer["intent"] for e in examples()}
    assert shown == set(INTENTS)
    assert check_examples(examples()) == []


def test_messages_are_system_then_example_turns_then_the_utterance() -> None:
    messages = build_messages("A100 还剩几个")
    assert messages[0] == {"role": "system", "content": system_prompt()}
    turns = messages[1:-1]
    assert [m["role"] for m in turns] == ["user", "assistant"] * (len(turns) // 2)
    for answer in turns[1::2]:
        json_to_command(json.loads(answer["content"]))
    assert messages[-1] == {"role": "user", "content": "Said: A100 还剩几个"}


def test_per_request_parts_come_last_and_the_prefix_stays_the_same() -> None:
    products = [Candidate("F8", ("灰色连帽卫衣", "Gray hoodie"), 80.0)]
    first = build_messages("卫衣还有多少", products=products, context="last order 77")
    second = build_messages("set a100 to 5")
    assert first[:-1] == second[:-1], "everything before the utterance's own turn is the fixed prefix"
    assert (
        first[-1]["content"] == "Products: F8: 灰色连帽卫衣 / Gray hoodie\nContext: last order 77\nSaid: 卫衣还有多少"
    )


def test_the_system_prompt_lists_every_intent_with_its_slots() -> None:
    prompt = system_prompt()
    for intent in INTENTS:
        assert f"- {intent}(" in prompt
    assert "adjust_price(sku, (percent|delta))" in prompt
    assert "create_product(title, price, quantity?, sku?)" in prompt


def test_a_template_renders_to_one_plain_sentence() -> None:
    template = "(ship|send) <order> {order_id} [via {carrier}]"
    assert render_template(template, "en", RULES, LISTS) == "ship the order number 5150 via sf express"
    assert render_template(template, "en", RULES, LISTS, optionals=False) == "ship order 5150"


def test_chinese_is_joined_without_spaces() -> None:
    template = "<ba>{sku}[的](价格|售价)改成{money:price}"
    assert render_template(template, "zh", RULES, LISTS, optionals=False) == "把K9价格改成77元"
    assert render_template(template, "zh", RULES, LISTS) == "把K9的价格改成77元"
