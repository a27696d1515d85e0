"""What a question names: an order number, a product, a size or colour.

Order numbers are digits (the orders service's ids, as merchants say them);
products are named by SKU or by title (the catalog's vocabulary, the same
Vocabulary the NLU resolves against); options are matched against the variant
names of the named product ("Red / L"), with the common Chinese size words
mapped to letters.
"""

from __future__ import annotations

import re

from shopvoice.catalog.v1 import catalog_pb2
from shopvoice.grammar import Vocabulary
from shopvoice.text import Normalized

_ORDER_AFTER_CUE = re.compile(
    r"(?:订单|单号|order|#|number|no)\s*(?:号|no|number|#)?\s*(?:是|为|is|[:：])?\s*(\d{1,12})(?!\d)", re.I
)
_LONE_NUMBER = re.compile(r"(?<![A-Za-z0-9.\-])(\d{1,12})(?![A-Za-z0-9.\-]|天|日|个|件|单|笔|元|块|%|小时|号码)")
# A code-like run: letters, digits and inner hyphens ("A100", "TS-RED-L"); a SKU
# only if the shop has it, so ordinary words cost a set lookup each.
_CODE = re.compile(r"(?<![A-Za-z0-9])([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)(?![A-Za-z0-9])")

COLOUR_WORDS = {
    "红色": "red",
    "蓝色": "blue",
    "白色": "white",
    "黑色": "black",
    "绿色": "green",
    "黄色": "yellow",
    "灰色": "grey",
    "粉色": "pink",
    "紫色": "purple",
}
SIZE_WORDS = {
    "特大号": "XXL",
    "加大": "XL",
    "加大号": "XL",
    "大号": "L",
    "大码": "L",
    "中号": "M",
    "中码": "M",
    "小号": "S",
    "小码": "S",
}


def order_id(text: Normalized, raw: str, lone: bool) -> str:
    """The order number the question names, or ''.

    A number after an order cue ("order 12", "订单12") always counts; a number on
    its own ("tracking for 12") only when ``lone`` (the question is about an order).
    """
    for source in (text.text, raw):
        match = _ORDER_AFTER_CUE.search(source)
        if match:
            return match.group(1).lstrip("0") or "0"
    match = _LONE_NUMBER.search(text.text) if lone else None
    return (match.group(1).lstrip("0") or "0") if match else ""


def sku(text: Normalized, raw: str, vocabulary: Vocabulary | None) -> str:
    """The SKU the question names: a code the shop has, else a title in it, else ''."""
    if vocabulary is None:
        return ""
    for source in (raw, text.text):
        for match in _CODE.finditer(source):
            code = match.group(1).upper()
            for candidate in (code, code.replace("-", "")):
                if candidate in vocabulary.skus:
                    return candidate
    return vocabulary.resolve(text.text) or ""


def _mentions(folded: str, word: str) -> bool:
    word = word.strip().casefold()
    if not word:
        return False
    if word.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", folded) is not None
    return word in folded


def option_parts(variant: catalog_pb2.Variant) -> list[str]:
    return [part for part in re.split(r"[/,|]+|\s+", variant.option_title) if part]


def variants_asked(product: catalog_pb2.Product, text: Normalized, raw: str) -> list[catalog_pb2.Variant]:
    """The variants whose options the question mentions most; all of them when it names none."""
    folded = f"{raw} {text.text}".casefold()
    for word, option in (*SIZE_WORDS.items(), *COLOUR_WORDS.items()):
        if word in folded:
            folded += f" {option.casefold()}"
    folded = re.sub(r"\bsize\s+", " ", folded)
    scored = [(sum(_mentions(folded, part) for part in option_parts(v)), v) for v in product.variants]
    best = max((score for score, _ in scored), default=0)
    if best == 0:
        return list(product.variants)
    return [v for score, v in scored if score == best]
