"""The few-shot prompt: every intent shown, every example a valid command, templates rendered plainly."""

from __future__ import annotations

import json

from services.nlu.llm import json_to_command
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
    assert messages[-1] == {"role": "user", "content": "A100 还剩几个"}


def test_the_system_prompt_lists_every_intent_with_its_slots() -> None:
    prompt = system_prompt()
    for intent in INTENTS:
        assert f"- {intent}(" in prompt
    assert "adjust_price(sku, (percent|delta))" in prompt
    assert "create_product(title, price, quantity?, sku?)" in prompt


def test_a_template_renders_to_one_plain_sentence() -> None:
    template = "(ship|send) <order> {order_id} [via {carrier}]"
    assert render_template(template, "en", RULES, LISTS) == "ship the order number 1234 via sf express"
    assert render_template(template, "en", RULES, LISTS, optionals=False) == "ship order 1234"


def test_chinese_is_joined_without_spaces() -> None:
    template = "<ba>{sku}[的](价格|售价)改成{money:price}"
    assert render_template(template, "zh", RULES, LISTS, optionals=False) == "把A100价格改成99元"
    assert render_template(template, "zh", RULES, LISTS) == "把A100的价格改成99元"
