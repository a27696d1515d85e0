"""The reply templates (services/nlu/replies/{en,zh}.toml): every key in every language with the
same fields, every enum value named in words, and no internal name in any rendered reply."""

from __future__ import annotations

import re
import string
from decimal import Decimal
from itertools import product
from typing import Any

import pytest

from services.nlu.dialogue import REQUIRED, denial
from services.nlu.llm.convert import json_to_command
from services.nlu.llm.readback import read_back
from services.nlu.replies import LANGUAGES, TABLES, Language, render, results, word
from shopvoice import permissions
from shopvoice.catalog.v1 import catalog_pb2
from shopvoice.common.v1 import command_pb2 as cmd
from shopvoice.common.v1.money_pb2 import Money
from shopvoice.common.v1.mutation_pb2 import ChangeRecord
from shopvoice.grammar.contract import CARRIERS
from shopvoice.orders.v1 import orders_pb2
from shopvoice.product_facts import FACT_NAMES

# An enum's internal name (PERIOD_THIS_WEEK, FULFILLMENT_STATUS_SHIPPED) or a contract value
# (this_week, last_7_days, partially_refunded): neither may reach a merchant.
ENUM_NAME = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+|[a-z][a-z0-9]*_[a-z0-9_]+")

# Which table names each enum, and the prefix of its value names.
ENUMS = {
    "period": (cmd.Period, "PERIOD_"),
    "metric": (cmd.Metric, "METRIC_"),
    "order_filter": (cmd.OrderFilter, "ORDER_FILTER_"),
    "product_status": (cmd.ProductStatus, "PRODUCT_STATUS_"),
    "status_said": (cmd.ProductStatus, "PRODUCT_STATUS_"),
    "fulfillment": (orders_pb2.FulfillmentStatus, "FULFILLMENT_STATUS_"),
    "payment": (orders_pb2.PaymentStatus, "PAYMENT_STATUS_"),
}


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_language_has_every_table_and_key() -> None:
    en, zh = TABLES["en"], TABLES["zh"]
    assert set(en) == set(zh)
    for table in en:
        assert set(en[table]) == set(zh[table]), table


def test_each_template_has_the_same_fields_in_every_language() -> None:
    for key, template in TABLES["en"]["text"].items():
        assert fields_of(TABLES["zh"]["text"][key]) == fields_of(template), key


@pytest.mark.parametrize("table", ENUMS)
def test_every_enum_value_has_words_in_every_language(table: str) -> None:
    enum, prefix = ENUMS[table]
    names = {value.name.removeprefix(prefix).lower() for value in enum.DESCRIPTOR.values}
    for lang in LANGUAGES:
        assert names <= set(TABLES[lang][table]), (lang, names - set(TABLES[lang][table]))


def test_every_slot_the_dialogue_asks_for_has_a_question() -> None:
    asked = {slot for slots in REQUIRED.values() for slot in slots} | {"period"}
    assert {f"ask_{slot}" for slot in asked} <= set(TABLES["en"]["text"])


def test_every_product_fact_and_carrier_has_words() -> None:
    for lang in LANGUAGES:
        assert set(FACT_NAMES) <= set(TABLES[lang]["fact"]), lang
        assert set(CARRIERS) <= set(TABLES[lang]["carrier"]), lang


# Representative values of each field; a field that names an enum value takes each of its words.
SAMPLES: dict[str, list[str]] = {
    "sku": ["A100"],
    "title": ["红色T恤"],
    "text": ["A100 price 89.00 → 99.00 CNY"],
    "amount": ["98.00"],
    "before": ["89.00"],
    "after": ["99.00"],
    "price": ["¥99.00"],
    "prices": ["A100 59.00"],
    "on_hand": ["100"],
    "available": ["98"],
    "committed": ["2"],
    "variants": ["A100 ¥99.00 × 98"],
    "count": ["3"],
    "threshold": ["5"],
    "items": ["A100 红色T恤 ¥99.00"],
    "more": ["; and 2 more"],
    "value": ["500ml"],
    "order_id": ["12"],
    "via": [" via SF"],
    "tracking": ["SF123456"],
    "restocked": [", 1 units restocked"],
    "total": ["¥98.00"],
    "shipment": [", shipped via SF SF123456"],
    "ids": ["12, 13"],
    "units": ["2"],
    "orders": ["4"],
    "subject": ["A100 "],
    "rating": ["4.50"],
    "ratings": ["3"],
    "now": ["98.00 CNY"],
    "then": ["49.00 CNY"],
    "change": ["+100%"],
    "first": ["today: 4 orders"],
    "second": ["yesterday: 2 orders"],
    "choices": ["A100 红色T恤"],
    "last": ["A101 白色T恤"],
    "readback": ["ship order 88"],
    "reason": ["This cancels order 88"],
    "examples": ["A100 红色T恤, A101 白色T恤"],
    "percent": ["20"],
    "delta": ["10"],
    "quantity": ["50"],
    "tracking_number": [" SF123456"],
    "moved": ["27.7"],
    "hours": ["24"],
    "ref": ["199.00"],
    "limit": ["20"],
    "reasons": ["this changes 51 products (over 50 need a confirmation)"],
    "bulk": ["50"],
    "limits": ["the price change limit to 15%"],
    "prompt": ["This cancels order 88. Confirm?"],
    "said": ["Cancel order 88"],
    "extras": ["via SF, tracking SF123456"],
    "what": ["set the price of B200 to 1.00"],
}
TABLE_FIELDS = {
    "period": "period",
    "compare_period": "period",
    "metric": "metric",
    "status": "product_status",
    "fulfillment": "fulfillment",
    "payment": "payment",
    "what": "irreversible",
    "name": "fact",
    "carrier": "carrier",
    "currency": "currency",
}


def samples(field: str, lang: Language) -> list[str]:
    if field in TABLE_FIELDS:
        return list(TABLES[lang][TABLE_FIELDS[field]].values())
    return SAMPLES[field]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_reply_names_an_enum_or_a_contract_value(lang: Language) -> None:
    for key, template in TABLES[lang]["text"].items():
        fields = sorted(fields_of(template))
        for values in product(*(samples(f, lang) for f in fields)):
            text = render(key, lang, **dict(zip(fields, values, strict=True)))
            assert not ENUM_NAME.search(text), (key, text)


def cny(units: int) -> Money:
    return Money(units=units, currency_code="CNY")


def report(metric: int) -> orders_pb2.SalesReportResponse:
    return orders_pb2.SalesReportResponse(
        metric=metric,  # type: ignore[arg-type]
        revenue=cny(98),
        orders=4,
        units=6,
        avg_rating=4.5,
        rated_orders=2,
        top_products=[orders_pb2.TopProduct(sku="E15", title="保温杯", units=2, revenue=cny(98))],
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rendered_results_name_no_enum(lang: Language) -> None:
    """Every period, metric, order state and product status, through the functions dispatch calls."""
    texts = []
    for period, metric in product(cmd.Period.values(), cmd.Metric.values()):
        texts.append(results.sales_report(report(metric), period, None, lang))
        texts.append(results.compare(metric, report(metric), report(metric), (period, period), "A100", lang))
        texts.append(results.refunds(period, 2, Decimal("98.5"), "CNY", lang))
    for fulfillment, payment in product(orders_pb2.FulfillmentStatus.values(), orders_pb2.PaymentStatus.values()):
        order = orders_pb2.Order(
            order_id="12",
            total=cny(98),
            refunded=cny(98),
            fulfillment_status=fulfillment,
            payment_status=payment,
            shipments=[orders_pb2.Shipment(carrier="YUNDA", tracking_number="YD1")],
            refunds=[orders_pb2.Refund(amount=cny(98))],
        )
        result = orders_pb2.OrderResult(order=order)
        texts += [results.order_status(order, lang), results.order_refunded(result, lang)]
        texts += [results.order_shipped(result, lang), results.order_cancelled(result, lang)]
    for order_filter in cmd.OrderFilter.values():
        listing = orders_pb2.ListOrdersResponse(total_count=2, orders=[orders_pb2.Order(order_id="12")])
        texts.append(results.orders_listed(listing, order_filter, lang))
    for status in cmd.ProductStatus.values():
        variant = catalog_pb2.Variant(sku="A100", price=cny(99))
        changed = catalog_pb2.MutationResult(
            sku="A100",
            product=catalog_pb2.Product(title="红色T恤", status=status, variants=[variant]),
            record=ChangeRecord(field="status", before="draft", after="active"),
        )
        texts.append(results.status_change(changed, lang))
    for text in texts:
        assert not ENUM_NAME.search(text), text


def test_english_replies_read_as_the_services_wrote_them() -> None:
    """Other tests, the README's demo and merchants' habits know these English lines."""
    order = orders_pb2.Order(
        order_id="1",
        total=cny(98),
        refunded=cny(98),
        payment_status=orders_pb2.PAYMENT_STATUS_REFUNDED,
        refunds=[orders_pb2.Refund(amount=cny(98))],
    )
    assert results.order_refunded(orders_pb2.OrderResult(order=order), "en") == "order 1 fully refunded: 98.00 CNY"
    assert results.sales_report(report(cmd.METRIC_REVENUE), cmd.PERIOD_TODAY, None, "en") == (
        "today: revenue 98.00 CNY from 4 orders"
    )
    changed = catalog_pb2.MutationResult(
        sku="A100",
        product=catalog_pb2.Product(variants=[catalog_pb2.Variant(sku="A100", price=cny(99))]),
        record=ChangeRecord(field="price", before="89.00", after="99.00"),
    )
    assert results.variant_change(changed, "en", "price") == "A100 price 89.00 → 99.00 CNY"
    assert word("period", "last_7_days", "zh") == "最近7天"


def test_a_refusal_is_the_services_words_in_english_and_rendered_in_chinese() -> None:
    command = cmd.Command(set_price=cmd.SetPrice(sku="ZZ9", price=cny(10)))
    detail = "SKU ZZ9 not found in this shop"
    assert results.refused("NOT_FOUND", command, detail, "en") == detail
    assert results.refused("NOT_FOUND", command, detail, "zh") == "找不到商品ZZ9，什么都没有改"
    refund = cmd.Command(refund_order=cmd.RefundOrder(order_id="12"))
    assert results.refused("FAILED_PRECONDITION", refund, "cannot refund order 12", "zh") == (
        "订单12现在不能这样改，什么都没有改"
    )
    assert results.refused("DATA_LOSS", refund, "", "en") == "order 12 was refused; nothing was changed"


@pytest.mark.parametrize(
    "command",
    [
        {"intent": "set_product_fact", "slots": {"sku": "E15", "name": "in_the_box", "value": "lid"}},
        {"intent": "set_product_status", "slots": {"sku": "D42", "status": "archived"}},
        {"intent": "ship_order", "slots": {"order_id": "12", "carrier": "YUNDA", "tracking_number": "YD1"}},
        {"intent": "bulk_set_price", "slots": {"query": "hoodie", "price": "199.00"}},
        {"intent": "set_guardrail", "slots": {"bulk_threshold": 30}},
        {"intent": "refund_order", "slots": {"order_id": "12", "amount": "30.00"}},
    ],
)
def test_a_read_back_names_no_slot_or_intent(command: dict[str, object]) -> None:
    """The LLM tail's and a spoken command's read-back (it said "Run set_product_fact (name=in_the_box)")."""
    parsed = json_to_command(command)
    for chinese in (True, False):
        text = read_back(parsed, chinese)
        assert not ENUM_NAME.search(text), text
        assert "=" not in text, text


@pytest.mark.parametrize(
    "role,command",
    [
        ("viewer", {"intent": "set_price", "slots": {"sku": "B200", "price": "1.00"}}),
        ("staff", {"intent": "refund_order", "slots": {"order_id": "88"}}),
        ("staff", {"intent": "set_guardrail", "slots": {"bulk_threshold": 30}}),
    ],
)
def test_a_permission_denial_is_worded_from_its_rule(role: str, command: dict[str, Any]) -> None:
    """shopvoice.permissions says why in English with the intent's name ("set_price changes the shop")."""
    verdict = permissions.decide(role, command["intent"], staff_may_refund=False)
    assert not verdict.allowed and verdict.rule
    for chinese in (True, False):
        text = denial(verdict.rule, json_to_command(command), chinese)
        assert not ENUM_NAME.search(text) and "“" in text, text
