"""The catalog's guardrail refusals as the merchant hears them, and the policy read back."""

from __future__ import annotations

from services.nlu.guardrail import Refusal, policy_text, proposal, question, refusal_of
from shopvoice.catalog.v1 import catalog_pb2
from shopvoice.common.v1 import command_pb2 as cmd

PRICE = (
    "needs confirmation (price_window): B200 would be 27.7% below 199.00, its highest price in the last 24 h"
    " (limit 20%); resend with a confirmation naming who confirmed"
)
BOTH = (
    "needs confirmation (price_window,bulk): A1 would be 25.0% above 8.00, its lowest price in the last 24 h"
    " (limit 20%); the change covers 51 products (limit 50 without a confirmation); resend with a confirmation"
    " naming who confirmed"
)


def test_only_a_guardrail_refusal_is_one() -> None:
    assert refusal_of("FAILED_PRECONDITION", PRICE) == Refusal(
        "price_window",
        "B200 would be 27.7% below 199.00, its highest price in the last 24 h (limit 20%)",
    )
    assert refusal_of("NOT_FOUND", PRICE) is None
    assert refusal_of("FAILED_PRECONDITION", "SKU A1 changed since you read it (version is 3, you expected 2)") is None


def test_the_question_names_the_numbers_in_the_merchants_language() -> None:
    price = refusal_of("FAILED_PRECONDITION", PRICE)
    assert price is not None
    assert (
        question(price, chinese=True)
        == "B200的价格将比24小时内的最高价199.00低27.7%（确认门槛20%），需要您确认，确认吗？"
    )
    assert question(price, chinese=False) == (
        "B200 would be 27.7% below its highest price of the last 24 hours (199.00; the limit is 20%)."
        " This needs your confirmation. Confirm?"
    )
    both = refusal_of("FAILED_PRECONDITION", BOTH)
    assert both is not None and both.rules == "price_window,bulk"
    zh = question(both, chinese=True)
    assert "A1的价格将比24小时内的最低价8.00高25.0%" in zh and "这次会修改51个商品（超过50个需要确认）" in zh


def test_a_reason_it_cannot_read_is_said_as_the_catalog_wrote_it() -> None:
    odd = Refusal("price_window", "something new")
    assert question(odd, chinese=False) == "something new. This needs your confirmation. Confirm?"
    # ...to an English speaker only: a Chinese one is asked in Chinese, without the catalog's words.
    assert question(odd, chinese=True) == "这次修改超过了确认门槛，需要您确认，确认吗？"


def test_the_policy_and_a_new_limit_read_back() -> None:
    policy = catalog_pb2.GuardrailPolicy(price_change_percent="15", price_window_hours=24, bulk_threshold=50)
    assert policy_text(policy, chinese=True) == "当前确认门槛：24小时内累计改价超过15%、批量修改超过50个商品时需要确认"
    assert "more than 15% within 24 hours" in policy_text(policy, chinese=False, changed=True)
    assert proposal(cmd.SetGuardrail(price_change_percent="15"), chinese=True) == "将把改价确认门槛设为15%，确认吗？"
    assert proposal(cmd.SetGuardrail(bulk_threshold=30), chinese=False) == (
        "This sets the bulk change limit to 30 products. Confirm?"
    )
    assert proposal(cmd.SetGuardrail(), chinese=False) == ""
