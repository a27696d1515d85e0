"""Product questions answered from the product's facts: the fact asked for, in the customer's
language; a fact the shop has not written goes to a person; a newly named product replaces the
conversation's; a question naming none uses the last product only when there is one."""

from __future__ import annotations

import uuid

from services.support.checker import ungrounded
from shopvoice.support.v1 import support_pb2 as sup
from tests.customer import shop
from tests.customer.conftest import CustomerStack


def talk(stack: CustomerStack, *questions: str, customer: str = "cust-1") -> list[sup.Answer]:
    conversation = uuid.uuid4().hex
    return [stack.ask(q, customer=customer, conversation_id=conversation) for q in questions]


def grounded(answer: sup.Answer) -> bool:
    return ungrounded(answer.text, "\n".join(f.value for f in answer.facts_used)) == []


def test_a_fact_is_answered_in_the_customers_language(customer_stack: CustomerStack) -> None:
    en, zh = talk(customer_stack, "is the 保温杯 dishwasher safe?")[0], talk(customer_stack, "保温杯能放洗碗机吗")[0]
    assert en.kind == sup.ANSWER_KIND_ANSWERED and "wash by hand" in en.text, en.text
    assert zh.kind == sup.ANSWER_KIND_ANSWERED and "手洗" in zh.text, zh.text
    assert grounded(en) and grounded(zh)


def test_a_fact_the_shop_has_not_written_goes_to_a_person(customer_stack: CustomerStack) -> None:
    answer = talk(customer_stack, "保温杯重不重")[0]
    assert answer.kind == sup.ANSWER_KIND_HANDED_OFF and answer.ticket_id


def test_a_newly_named_product_replaces_the_conversations(customer_stack: CustomerStack) -> None:
    first, second, third = talk(customer_stack, "保温杯容量多大", "蓝色牛仔裤呢 什么面料", "多少钱")
    assert "500" in first.text
    assert "98%" in second.text and "500" not in second.text, second.text
    assert "199" in third.text and "49" not in third.text, third.text


def test_a_question_naming_nothing_uses_no_product_without_context(customer_stack: CustomerStack) -> None:
    answer = talk(customer_stack, "how much is it")[0]
    assert answer.kind == sup.ANSWER_KIND_NEEDS_INFO
    assert not [f for f in answer.facts_used if f.name.startswith("variant.")]


def test_two_products_then_a_question_about_one_asks_which(customer_stack: CustomerStack) -> None:
    both, which, chosen = talk(customer_stack, "红色T恤和蓝色牛仔裤哪个便宜", "什么材质", "牛仔裤")
    assert "89" in both.text and "199" in both.text
    assert which.kind == sup.ANSWER_KIND_NEEDS_INFO and "红色T恤" in which.text and "蓝色牛仔裤" in which.text
    assert chosen.kind == sup.ANSWER_KIND_ANSWERED and "氨纶" in chosen.text, chosen.text


def test_another_shops_facts_never_reach_this_shops_customer(customer_stack: CustomerStack) -> None:
    for answer in talk(customer_stack, "紫色雨伞什么材质", "Z9什么材质"):
        assert shop.SHOP_B_MARKER not in answer.text
        assert answer.kind != sup.ANSWER_KIND_ANSWERED


def test_small_talk_is_brief_and_in_the_customers_language(customer_stack: CustomerStack) -> None:
    thanks, bye, zh = talk(customer_stack, "thanks!", "bye"), None, talk(customer_stack, "谢谢")[0]
    assert thanks[0].kind == sup.ANSWER_KIND_SMALL_TALK and "welcome" in thanks[0].text.lower()
    assert "bye" in thanks[1].text.lower()
    assert zh.kind == sup.ANSWER_KIND_SMALL_TALK and "不客气" in zh.text
    assert bye is None


def test_do_you_have_asks_stock_unless_it_asks_something_else(customer_stack: CustomerStack) -> None:
    stock, smell = talk(customer_stack, "保温杯有没有"), talk(customer_stack, "保温杯有没有异味")
    assert stock[0].kind == sup.ANSWER_KIND_ANSWERED and "有货" in stock[0].text, stock[0].text
    # No fact says how it smells: a person answers, not "in stock".
    assert smell[0].kind == sup.ANSWER_KIND_HANDED_OFF, smell[0].text
    colour = talk(customer_stack, "do you have the thermos in pink")[0]
    assert colour.kind == sup.ANSWER_KIND_HANDED_OFF, colour.text


def test_a_material_named_picks_the_material_fact(customer_stack: CustomerStack) -> None:
    answer = talk(customer_stack, "蓝色牛仔裤是尼龙的吗")[0]
    assert answer.kind == sup.ANSWER_KIND_ANSWERED and "98%" in answer.text and "氨纶" in answer.text, answer.text


def test_an_offered_product_is_chosen_by_a_word_of_its_title(customer_stack: CustomerStack) -> None:
    _, chosen = talk(customer_stack, "红色T恤和蓝色牛仔裤哪个好", "牛仔的那个 什么材质")
    assert chosen.kind == sup.ANSWER_KIND_ANSWERED and "氨纶" in chosen.text, chosen.text
