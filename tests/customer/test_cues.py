"""The cue files read as written (services/support/intents.py): a "*" gap, English plurals,
the topics that outrank others, and the order number a question names."""

from __future__ import annotations

import pytest

from services.support import entities, intents


def found(language: str, section: str, question: str) -> list[str]:
    return intents.find(language, section, intents.fold(intents.read(question), question))


@pytest.mark.parametrize(
    ("language", "question", "topic"),
    [
        ("en", "if i open the pack can i still send them back", "returns"),
        ("en", "can i send the jeans back", "returns"),
        ("en", "do you ship this to canada", "shipping"),
        ("en", "can i swap my jeans for a different size", "returns"),
        ("en", "got any discount codes?", "unanswered"),
        ("en", "any vouchers", "unanswered"),
        ("en", "whats the delivery fee if my order is under the free shipping amount", "shipping"),
        ("en", "if i pay by alipay now will it ship today", "shipping"),
        ("en", "order 7 is unpaid, will it be cancelled automatically", "unpaid"),
        ("zh", "今天周三 下午三点付款今天能发吗", "shipping"),
        ("zh", "还有一单7我还没付 会不会自动取消", "unpaid"),
        ("zh", "能用paypal付吗", "payment"),
        ("zh", "不想要了 能取消吗", "cancellation"),
    ],
)
def test_the_first_topic_is_what_the_question_asks(language: str, question: str, topic: str) -> None:
    assert found(language, "intents", question)[0] == topic


def test_a_short_cue_has_no_plural_that_is_another_word_and_english_words_are_whole_words() -> None:
    assert found("en", "small_talk", "is his order here") == []
    assert found("en", "small_talk", "hi") == ["hello"]
    assert found("zh", "small_talk", "hi 在吗") == ["hello"]


@pytest.mark.parametrize(
    ("language", "question", "left"),
    [
        ("zh", "瑜伽垫有没有异味", "异味"),
        ("zh", "运动鞋有黑色的吗", "黑色"),
        ("en", "do you have the thermos in pink", "pink"),
    ],
)
def test_a_weak_stock_cue_comes_out_and_what_else_is_asked_stays(language: str, question: str, left: str) -> None:
    folded = intents.fold(intents.read(question), question).split("\n")[-1]
    rest = intents.strip(language, "intents", "stock_weak", folded)
    assert left in rest and "有没有" not in rest and "do you have" not in rest


@pytest.mark.parametrize(
    ("language", "question"),
    [("en", "how long does delivery usually take"), ("zh", "一般几天能到"), ("zh", "通常多久发货")],
)
def test_a_general_question_is_marked_general(language: str, question: str) -> None:
    assert found(language, "general", question) == ["usually"]


def test_a_count_of_orders_is_not_an_order_number() -> None:
    question = "还有一单7我还没付 会不会自动取消"
    assert entities.order_id(intents.read(question), question, lone=True) == "7"
    assert entities.order_id(intents.read("我有2笔 3"), "我有2笔 3", lone=True) == "3"
