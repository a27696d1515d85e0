"""Products: create (one SKU or several), read, list, search, vocabulary, status, and bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from shopvoice.catalog.v1 import catalog_pb2 as pb
from shopvoice.catalog.v1 import catalog_pb2_grpc
from shopvoice.common.v1.command_pb2 import ProductStatus
from shopvoice.common.v1.money_pb2 import Money
from tests.catalog.shop import amount, create, money, mutation, refused

Stub = catalog_pb2_grpc.CatalogServiceStub
SQL = Callable[..., list[tuple[Any, ...]]]


def test_create_product_with_one_sku_answers_with_the_product(stub: Stub, merchant: str) -> None:
    result = create(stub, merchant, sku="A100", title="红色T恤", price="59.00", quantity=100)
    product = result.product
    assert (product.title, product.status, product.merchant_id) == (
        "红色T恤",
        ProductStatus.PRODUCT_STATUS_ACTIVE,
        merchant,
    )
    [variant] = product.variants
    assert (variant.sku, amount(variant.price), variant.price.currency_code) == ("A100", "59.00", "CNY")
    assert (variant.inventory.on_hand, variant.inventory.committed, variant.inventory.available) == (100, 0, 100)
    assert result.sku == "A100" and "A100" in result.summary


def test_create_product_with_several_skus_and_compare_at_prices(stub: Stub, merchant: str) -> None:
    result = stub.CreateProduct(
        pb.CreateProductRequest(
            mutation=mutation(merchant),
            title="Hoodie",
            description="warm\nand soft",
            status=ProductStatus.PRODUCT_STATUS_DRAFT,
            variants=[
                pb.NewVariant(sku="H-S", option_title="S", price=money("120.00", "USD"), quantity=3),
                pb.NewVariant(
                    sku="H-L", option_title="L", price=money("125.50", "USD"), compare_at_price=money("150", "USD")
                ),
            ],
        )
    )
    got = {v.sku: v for v in result.product.variants}
    assert set(got) == {"H-L", "H-S"}
    assert result.product.status == ProductStatus.PRODUCT_STATUS_DRAFT
    assert amount(got["H-L"].compare_at_price) == "150.00" and got["H-L"].price.currency_code == "USD"
    assert got["H-S"].option_title == "S" and got["H-S"].inventory.available == 3
    fetched = stub.GetProduct(pb.GetProductRequest(merchant_id=merchant, product_id=result.product.product_id))
    assert fetched == result.product


def test_a_sku_is_generated_when_none_is_given(stub: Stub, merchant: str) -> None:
    result = stub.CreateProduct(
        pb.CreateProductRequest(mutation=mutation(merchant), title="Mug", price=money("9.90"), quantity=1)
    )
    sku = result.product.variants[0].sku
    assert sku.startswith("P") and len(sku) == 9
    assert stub.GetStock(pb.GetStockRequest(merchant_id=merchant, sku=sku)).inventory.on_hand == 1


def test_a_taken_sku_is_already_exists_and_creates_nothing(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, sku="A100")
    err = refused(lambda: create(stub, merchant, sku="A100", title="other"))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS and "A100" in (err.details() or "")
    assert sql("SELECT count(*) FROM products WHERE merchant_id = %s", merchant) == [(1,)]


def test_get_product_by_sku_and_missing_ones(stub: Stub, merchant: str) -> None:
    created = create(stub, merchant, sku="A100")
    assert stub.GetProduct(pb.GetProductRequest(merchant_id=merchant, sku="A100")) == created.product
    err = refused(lambda: stub.GetProduct(pb.GetProductRequest(merchant_id=merchant, sku="NOPE")))
    assert err.code() == grpc.StatusCode.NOT_FOUND
    err = refused(lambda: stub.GetProduct(pb.GetProductRequest(merchant_id=merchant, product_id="not-a-uuid")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_list_products_pages_through_every_product_once_and_filters_by_status(stub: Stub, merchant: str) -> None:
    for i in range(5):
        create(stub, merchant, sku=f"L{i}", title=f"item {i}")
    stub.SetProductStatus(
        pb.SetProductStatusRequest(mutation=mutation(merchant), sku="L3", status=ProductStatus.PRODUCT_STATUS_ARCHIVED)
    )
    seen: list[str] = []
    token = ""
    while True:
        page = stub.ListProducts(pb.ListProductsRequest(merchant_id=merchant, page_size=2, page_token=token))
        assert len(page.products) <= 2
        seen += [p.variants[0].sku for p in page.products]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["L0", "L1", "L2", "L3", "L4"]
    archived = stub.ListProducts(
        pb.ListProductsRequest(merchant_id=merchant, status=ProductStatus.PRODUCT_STATUS_ARCHIVED)
    )
    assert [p.variants[0].sku for p in archived.products] == ["L3"]
    err = refused(lambda: stub.ListProducts(pb.ListProductsRequest(merchant_id=merchant, page_token="garbage!")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_search_is_case_and_width_insensitive_in_any_language(stub: Stub, merchant: str) -> None:
    create(stub, merchant, sku="A100", title="红色T恤")
    create(stub, merchant, sku="A101", title="Blue T-Shirt")
    create(stub, merchant, sku="B200", title="咖啡杯 Coffee Mug")

    def skus(query: str) -> list[str]:
        return [m.sku for m in stub.SearchProducts(pb.SearchProductsRequest(merchant_id=merchant, query=query)).matches]

    assert skus("红色ｔ恤") == ["A100"]  # full-width, lower case
    assert skus("红色T恤") == ["A100"]
    assert skus("blue t-shirt") == ["A101"]
    assert skus("ＢＬＵＥ") == ["A101"]
    assert skus("咖啡") == ["B200"]
    assert skus("a100") == ["A100"]  # SKU, any case
    assert skus("Ａ１０") == ["A100", "A101"]  # SKU prefix, full-width
    assert skus("t恤") == ["A100"]
    assert skus("nothing like it") == []
    assert refused(lambda: skus("   ")).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_vocabulary_lists_skus_and_titles_and_its_revision_follows_changes(stub: Stub, merchant: str) -> None:
    create(stub, merchant, sku="A100", title="红色T恤")
    create(stub, merchant, sku="B200", title="Mug")
    first = stub.GetVocabulary(pb.GetVocabularyRequest(merchant_id=merchant))
    assert [(e.sku, e.title) for e in first.entries] == [("B200", "Mug"), ("A100", "红色T恤")]  # the newest first
    assert stub.GetVocabulary(pb.GetVocabularyRequest(merchant_id=merchant)).revision == first.revision
    stub.SetProductStatus(
        pb.SetProductStatusRequest(
            mutation=mutation(merchant), sku="B200", status=ProductStatus.PRODUCT_STATUS_ARCHIVED
        )
    )
    after = stub.GetVocabulary(pb.GetVocabularyRequest(merchant_id=merchant))
    # An archived product stays nameable ("relist the mug"), marked as archived.
    assert [(e.sku, e.status) for e in after.entries] == [
        ("B200", ProductStatus.PRODUCT_STATUS_ARCHIVED),
        ("A100", ProductStatus.PRODUCT_STATUS_ACTIVE),
    ]
    assert after.revision != first.revision


def test_english_titles_and_descriptions_reach_the_vocabulary(stub: Stub, merchant: str) -> None:
    stub.CreateProduct(
        pb.CreateProductRequest(
            mutation=mutation(merchant),
            title="黑色双肩包",
            title_en="Black backpack",
            description="Black backpack, 25 litres",
            sku="D42",
            price=Money(units=159),
            quantity=3,
        )
    )
    product = stub.GetProduct(pb.GetProductRequest(merchant_id=merchant, sku="D42"))
    assert (product.title, product.title_en) == ("黑色双肩包", "Black backpack")
    [entry] = stub.GetVocabulary(pb.GetVocabularyRequest(merchant_id=merchant)).entries
    assert (entry.title_en, entry.description) == ("Black backpack", "Black backpack, 25 litres")
    bad = pb.CreateProductRequest(mutation=mutation(merchant), title="x", title_en="a\x00b", price=Money(units=1))
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateProduct(bad)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "title_en" in (caught.value.details() or "")  # the field named (text hygiene, shopvoice/hygiene.py)


def test_set_product_status_is_recorded_and_a_repeat_changes_nothing(stub: Stub, merchant: str, sql: SQL) -> None:
    create(stub, merchant, sku="A100")
    down = stub.SetProductStatus(
        pb.SetProductStatusRequest(mutation=mutation(merchant), sku="A100", status=ProductStatus.PRODUCT_STATUS_DRAFT)
    )
    assert down.product.status == ProductStatus.PRODUCT_STATUS_DRAFT and down.product.version == 2 and down.change_id
    again = stub.SetProductStatus(
        pb.SetProductStatusRequest(mutation=mutation(merchant), sku="A100", status=ProductStatus.PRODUCT_STATUS_DRAFT)
    )
    assert again.product.version == 2 and not again.change_id and "already draft" in again.summary
    assert sql("SELECT old_value, new_value FROM changes WHERE merchant_id = %s", merchant) == [("active", "draft")]
    err = refused(lambda: stub.SetProductStatus(pb.SetProductStatusRequest(mutation=mutation(merchant), sku="A100")))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT


BAD_PRODUCTS: list[tuple[str, dict[str, Any], str]] = [
    ("empty title", {"title": "  "}, "title is empty"),
    ("10 KB title", {"title": "长" * 10240}, "at most 200"),
    ("control characters", {"title": "red\x07shirt"}, "control"),
    ("negative price", {"price": money("-1")}, "negative"),
    ("absurd price", {"price": money("1000000.01")}, "ceiling"),
    ("three decimals", {"price": money("9.999")}, "decimals"),
    ("unknown currency", {"price": Money(currency_code="XYZ", units=5)}, "unknown currency"),
    ("negative stock", {"quantity": -1}, "negative"),
    ("bad sku", {"sku": "a 100"}, "SKU"),
    ("no price", {"price": None}, "price"),
]


@pytest.mark.parametrize(("case", "fields", "message"), BAD_PRODUCTS, ids=[c[0] for c in BAD_PRODUCTS])
def test_bad_products_are_invalid_argument_and_write_nothing(
    stub: Stub, merchant: str, sql: SQL, case: str, fields: dict[str, Any], message: str
) -> None:
    request = pb.CreateProductRequest(mutation=mutation(merchant), title="T", sku="A100", price=money("5"))
    for name, value in fields.items():
        if value is None:
            request.ClearField(name)
        elif isinstance(value, Money):
            getattr(request, name).CopyFrom(value)
        else:
            setattr(request, name, value)
    err = refused(lambda: stub.CreateProduct(request))
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
    assert message in (err.details() or ""), err.details()
    assert sql("SELECT count(*) FROM products WHERE merchant_id = %s", merchant) == [(0,)]
    assert sql("SELECT count(*) FROM idempotency_keys WHERE merchant_id = %s", merchant) == [(0,)]
    assert sql("SELECT count(*) FROM outbox WHERE merchant_id = %s", merchant) == [(0,)]
