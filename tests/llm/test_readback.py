"""An LLM command that changes data is proposed with its values read back; questions run at once."""

from __future__ import annotations

from services.nlu.dialogue import Decision, DialogueState
from services.nlu.llm.convert import json_to_command
from services.nlu.llm.readback import confirm_first, read_back


def test_values_are_read_back_in_the_merchants_language() -> None:
    command = json_to_command({"intent": "set_price", "slots": {"sku": "A100", "price": "89.00"}})
    assert read_back(command, chinese=True) == "将把A100的价格设为89.00，确认吗？"
    assert read_back(command, chinese=False) == "Set the price of A100 to 89.00. Confirm?"
    percent = json_to_command({"intent": "adjust_price", "slots": {"sku": "A100", "percent": "-15"}})
    assert "-15%" in read_back(percent, chinese=False)
    shipped = json_to_command({"intent": "ship_order", "slots": {"order_id": "1234", "carrier": "SF"}})
    assert "1234" in read_back(shipped, chinese=True) and "顺丰" in read_back(shipped, chinese=True)
    assert "SF" in read_back(shipped, chinese=False)


def test_an_intent_without_a_template_is_read_back_with_all_its_values() -> None:
    command = json_to_command({"intent": "adjust_stock", "slots": {"sku": "B200", "delta": -3}})
    assert "-3" in read_back(command, chinese=False) and "B200" in read_back(command, chinese=False)


def test_a_change_is_proposed_and_pending() -> None:
    state = DialogueState()
    command = json_to_command({"intent": "set_stock", "slots": {"sku": "A100", "quantity": 5}})
    decided = confirm_first(Decision("execute", command, "u-1"), state, "set_stock", chinese=False)
    assert decided.kind == "propose" and "5" in decided.prompt
    assert state.pending == command and state.pending_id == "u-1"


def test_questions_and_confirmations_run_at_once() -> None:
    state = DialogueState()
    question = json_to_command({"intent": "query_stock", "slots": {"sku": "A100"}})
    assert confirm_first(Decision("execute", question, "u-2"), state, "query_stock", chinese=False).kind == "execute"
    pending = json_to_command({"intent": "set_stock", "slots": {"sku": "A100", "quantity": 5}})
    # "yes, do it" understood by the LLM executes what was proposed (and read back) before
    assert confirm_first(Decision("execute", pending, "u-0"), state, "confirm", chinese=False).kind == "execute"
    assert state.pending is None


def test_an_already_proposed_change_gets_its_values_too() -> None:
    command = json_to_command({"intent": "set_price", "slots": {"sku": "A100", "price": "1.00"}})
    decided = confirm_first(
        Decision("propose", command, "u-3", prompt="This changes the price of A100 by -99%. Confirm?"),
        DialogueState(),
        "set_price",
        chinese=False,
    )
    assert decided.prompt == "Set the price of A100 to 1.00. This changes the price of A100 by -99%. Confirm?"


def test_the_dialogue_context_is_one_line_for_the_prompts_end() -> None:
    from services.nlu.llm.readback import context_line

    assert context_line(DialogueState()) == ""
    state = DialogueState(last_sku="A100", last_order_id="5521")
    assert context_line(state) == "product just discussed A100, order just discussed 5521"
