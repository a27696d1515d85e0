"""Product facts: the names a merchant may set, shared by the catalog (which stores and
validates them), the NLU (set_product_fact) and the support service (which answers from them).

A fact belongs to a product (not a SKU) and has one value per language, written by the
merchant ("capacity", "zh", "500毫升"). design.md lists the same names under set_product_fact.
"""

from __future__ import annotations

FACT_NAMES = (
    "material",
    "capacity",
    "sizes",
    "fit",
    "care",
    "dimensions",
    "weight",
    "in_the_box",
    "battery",
    "waterproof",
    "warranty",
    "hot_drinks",
    "dishwasher",
    "laptop",
    "colour",
    "origin",
)
LANGUAGES = ("zh", "en")
MAX_VALUE_CHARS = 500
