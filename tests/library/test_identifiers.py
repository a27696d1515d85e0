"""One SKU rule and one merchant-id rule for every service (shopvoice/identifiers.py)."""

from __future__ import annotations

import pytest

from shopvoice.errors import InvalidArgument
from shopvoice.identifiers import require_merchant, validate_sku


@pytest.mark.parametrize(
    "sku",
    [
        "A100",  # the demo shop's
        "E15",
        "TS-RED-M",  # a merchant's own code
        "A.1",  # the catalog always took dots; orders refused them, so such a product could not be ordered
        "SKU_1",
        "P3F9A1C2-2",  # what the catalog generates for a product's second variant
        "9",
        "A" * 64,
    ],
)
def test_a_sku_the_catalog_can_hold_is_a_sku_everywhere(sku: str) -> None:
    assert validate_sku(sku) == sku


@pytest.mark.parametrize(
    "sku",
    ["", "a100", "A 100", "-A1", ".A1", "_A1", "A100\x00", "红色T恤", "Ａ100", "A" * 65, "A100;DROP", "A/1"],
)
def test_anything_else_is_refused_with_what_a_sku_looks_like(sku: str) -> None:
    with pytest.raises(InvalidArgument, match=r"is not a SKU: use 1-64 upper-case letters.*like A100"):
        validate_sku(sku)


def test_a_merchant_id_is_1_to_64_characters() -> None:
    assert require_merchant("demo-shop") == "demo-shop"
    assert require_merchant("m" * 64) == "m" * 64
    for bad in ("", "m" * 65):
        with pytest.raises(InvalidArgument, match="merchant_id is required"):
            require_merchant(bad)
