"""shopvoice.resolution: products named as merchants name them, against the demo shop."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shopvoice.resolution import CatalogProduct, ProductIndex, singular, sku_key

DEMO = Path(__file__).resolve().parents[2] / "shopvoice_cli" / "demo_shop.yaml"


def demo_products() -> list[CatalogProduct]:
    data = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    products = []
    for p in data["products"]:
        words = [str(p.get("description", ""))]
        for fact in (p.get("facts") or {}).values():
            words += [str(fact.get("zh", "")), str(fact.get("en", ""))]
        products.append(CatalogProduct(p["sku"], p["title"], p.get("title_en", ""), tuple(words)))
    return products


@pytest.fixture(scope="module")
def index() -> ProductIndex:
    return ProductIndex(demo_products())


@pytest.mark.parametrize(
    ("phrase", "sku"),
    [
        # SKUs in any case and spacing
        ("a100", "A100"),
        ("d 42", "D42"),
        ("K12", "K12"),
        # titles, either language
        ("红色T恤", "A100"),
        ("the red t-shirt", "A100"),
        ("Stainless steel water bottle", "K12"),
        # partial names and plurals
        ("the jeans", "B200"),
        ("backpacks", "D42"),
        ("the backpack", "D42"),
        ("yoga mats", "G3"),
        ("the mat", "G3"),
        ("thermos cups", "E15"),
        ("earbuds", "N20"),
        ("baseball caps", "P6"),
        ("tote bags", "J5"),
        ("steel bottle", "K12"),
        ("牛仔裤", "B200"),
        ("双肩包", "D42"),
        ("托特包", "J5"),
        ("帆布包", "J5"),
        ("袜子", "M3"),
        ("帽子", "P6"),
        ("耳机", "N20"),
        ("水壶", "K12"),
        ("短裤", "R11"),
        # everyday names and synonyms
        ("the red tee", "A100"),
        ("white tee", "A101"),
        ("gray hoodies", "F8"),
        ("红T", "A100"),
        ("白T", "A101"),
        ("灰卫衣", "F8"),
        ("小白鞋", "C7"),
        ("背包", "D42"),
        # colour + kind, colour alone when it is the only one
        ("red hoodie", "F9"),
        ("红色卫衣", "F9"),
        ("the grey one", "F8"),
        ("黑色的那个", "D42"),
        ("蓝色的那个", "B200"),  # 蓝牙 is no colour
        # description and fact words
        ("slim fit jeans", "B200"),
        ("the merino socks", "M3"),
        ("500毫升的杯子", "E15"),
        ("速干短裤", "R11"),
    ],
)
def test_one_confident_match(index: ProductIndex, phrase: str, sku: str) -> None:
    match = index.resolve(phrase)
    assert (match.outcome, match.sku) == ("one", sku)


@pytest.mark.parametrize(
    ("phrase", "candidates"),
    [
        ("t-shirts", ("A100", "A101")),
        ("tees", ("A100", "A101")),
        ("T恤", ("A100", "A101")),
        ("hoodie", ("F8", "F9")),
        ("卫衣", ("F8", "F9")),
        ("连帽卫衣", ("F8", "F9")),
        ("the red one", ("A100", "F9")),
        ("white ones", ("A101", "C7")),
        ("包", ("D42", "J5")),
        ("bags", ("D42", "J5")),
        ("cotton tee", ("A100", "A101")),
        ("纯棉T恤", ("A100", "A101")),
        ("fleece hoodie", ("F8", "F9")),
    ],
)
def test_several_matches_are_candidates_sorted(index: ProductIndex, phrase: str, candidates: tuple[str, ...]) -> None:
    match = index.resolve(phrase)
    assert match.outcome == "several"
    assert match.sku is None
    assert match.candidates == candidates


@pytest.mark.parametrize("phrase", ["jacket", "夹克", "the purple hoodie", "", "   ", "Z999"])
def test_no_match(index: ProductIndex, phrase: str) -> None:
    assert index.resolve(phrase).outcome == "none"


def test_generated_skus_are_nameable_in_any_case() -> None:
    index = ProductIndex([CatalogProduct("P525150DD", "绿色帆布鞋", "Green canvas shoes")])
    for phrase in ("P525150DD", "p525150dd", "p 525150 dd", "P-525150-DD"):
        assert index.resolve(phrase).sku == "P525150DD"
    assert index.resolve("green canvas shoes").sku == "P525150DD"
    assert index.resolve("帆布鞋").sku == "P525150DD"


def test_an_archived_product_gives_way_to_a_live_one() -> None:
    index = ProductIndex(
        [
            CatalogProduct("A1", "红色T恤", "Red T-shirt", status="archived"),
            CatalogProduct("A2", "白色T恤", "White T-shirt"),
        ]
    )
    assert index.resolve("t-shirt").sku == "A2"
    assert index.resolve("red t-shirt").sku == "A1"  # named exactly, it is still that product


def test_an_exact_title_wins_over_longer_titles() -> None:
    index = ProductIndex([CatalogProduct("T1", "T恤", "T-shirt"), CatalogProduct("T2", "红色T恤", "Red T-shirt")])
    assert index.resolve("T恤").sku == "T1"
    assert index.resolve("t-shirt").sku == "T1"


def test_words() -> None:
    assert [singular(w) for w in ("backpacks", "jeans", "boxes", "caps", "glass")] == [
        "backpack",
        "jeans",
        "box",
        "cap",
        "glass",
    ]
    assert sku_key(" a-100 ") == "A100"


def test_a_selection_names_every_product_it_covers(index: ProductIndex) -> None:
    assert index.select("T恤") == ("A100", "A101")
    assert index.select("t-shirt") == ("A100", "A101")
    assert index.select("hoodie") == ("F8", "F9")
    assert index.select("bag") == ("D42", "J5")
    assert index.select("红色") == ("A100", "F9")
    assert index.select("jacket") == ()
    assert len(index.select()) == 15
    draft = ProductIndex([CatalogProduct("A1", "红色T恤", status="draft"), CatalogProduct("A2", "白色T恤")])
    assert draft.select(status="draft") == ("A1",)
    assert draft.select("T恤", status="active") == ("A2",)
