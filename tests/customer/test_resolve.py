"""Product names found inside a customer's question (services/support/resolve.py), against
the demo shop: what each question names, and what is left for reading its topic."""

from __future__ import annotations

import pytest
import yaml

from services.support.resolve import ProductNames
from services.support.shopdata import ShopProduct
from shopvoice.text import normalize
from shopvoice_cli.demo_shop import SHOP_FILE


@pytest.fixture(scope="module")
def names() -> ProductNames:
    shop = yaml.safe_load(SHOP_FILE.read_text(encoding="utf-8"))
    return ProductNames(
        [ShopProduct(p["sku"], (p["sku"],), p["title"], p["title_en"], p["description"]) for p in shop["products"]]
    )


@pytest.mark.parametrize(
    ("question", "skus"),
    [
        ("hi quick q is the thermos dishwasher safe", ["E15"]),
        ("and the backpack?", ["D42"]),
        ("do you sell hats", ["P6"]),
        ("which is bigger, the thermos or the steel water bottle", ["E15", "K12"]),
        ("earbuds - ok for running, sweatproof?", ["N20"]),  # "running" alone is not the shorts
        ("red hoodie price", ["F9"]),
        ("a101 material?", ["A101"]),
        ("price of K12 and E15?", ["K12", "E15"]),
        ("jeens price", ["B200"]),
        ("snekers size 42", ["C7"]),
        ("亲 运动鞋有几码的", ["C7"]),
        ("鞋子能机洗吗", ["C7"]),
        ("灰色卫衣和红色T恤哪个便宜", ["F8", "A100"]),
        ("白T怎么洗", ["A101"]),
        ("运动谢多少钱", ["C7"]),
        ("牛仔库有38码吗", ["B200"]),
        ("请问短裤是什么面料的", ["R11"]),
        ("帆布包尺寸多大", ["J5"]),
        ("鸭舌帽多少钱", ["P6"]),
        ("in stock?", []),  # "stock" is not a typo of "socks"
        ("what shoe sizes do they fit", []),  # the socks' shoe sizes, not the sneakers
    ],
)
def test_what_a_question_names(names: ProductNames, question: str, skus: list[str]) -> None:
    assert names.resolve(question, normalize(question).text).skus == skus


def test_a_name_that_fits_several_products_is_ambiguous(names: ProductNames) -> None:
    found = names.resolve("how much is the t-shirt", "how much is the t-shirt")
    assert found.skus == [] and found.ambiguous == ["A100", "A101"]


def test_the_products_just_offered_decide_a_colour_or_a_partial_name(names: ProductNames) -> None:
    assert names.resolve("the white one", "the white one", offered=["A100", "A101"]).skus == ["A101"]
    assert names.resolve("卫衣", "卫衣", offered=["F8", "A100"]).skus == ["F8"]


def test_a_colour_alone_names_the_product_of_the_kind_just_discussed(names: ProductNames) -> None:
    assert names.resolve("what about the red one in xxl", "", context=["A101"]).skus == ["A100"]
    assert names.resolve("有红色的吗", "", context=["F8"]).skus == ["F9"]
    assert names.resolve("any in red?", "", context=["F8"]).skus == ["F9"]


def test_cue_words_inside_a_name_are_not_read_as_the_question(names: ProductNames) -> None:
    found = names.resolve("what about the canvas tote, how big is that", "")
    assert found.skus == ["J5"] and "canvas" not in found.without_names()
    assert "保温" in names.resolve("我上次买了保温杯 这次想买不锈钢水壶 它保温吗", "").without_names()


def test_a_plural_that_fits_several_products_names_each_of_them(names: ProductNames) -> None:
    plural = names.resolve("how much are the hoodies", "how much are the hoodies")
    assert plural.ambiguous == ["F8", "F9"] and plural.plural
    single = names.resolve("how much is the hoodie", "how much is the hoodie")
    assert single.ambiguous == ["F8", "F9"] and not single.plural


@pytest.mark.parametrize(
    ("answer", "offered", "sku"),
    [
        ("帆布的那个", ["D42", "J5"], "J5"),
        ("双肩的", ["D42", "J5"], "D42"),
        ("the canvas one", ["D42", "J5"], "J5"),
        ("the steel one", ["E15", "K12"], "K12"),
    ],
)
def test_a_word_of_one_offered_title_chooses_it(names: ProductNames, answer: str, offered: list[str], sku: str) -> None:
    found = names.resolve(answer, answer, offered=offered)
    assert found.skus == [sku]
    assert found.spans, "the chosen word is taken out of the question"


def test_a_word_no_offered_title_or_every_offered_title_has_chooses_nothing(names: ProductNames) -> None:
    assert names.resolve("多少钱", "多少钱", offered=["D42", "J5"]).skus == []
    assert names.resolve("the hoodie one", "the hoodie one", offered=["F8", "F9"]).skus == []


def test_bags_in_everyday_chinese_are_both_bags(names: ProductNames) -> None:
    assert names.resolve("包包多少钱", "包包多少钱").ambiguous == ["D42", "J5"]
