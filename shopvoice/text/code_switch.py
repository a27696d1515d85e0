"""English shop words inside Chinese sentences: "A100 stock 还有多少", "order 1234 发货".

Chinese merchants switch to English for the trade's own words (price, stock, order, refund)
in mid-sentence, typed or spoken. The Chinese grammar knows the Chinese words, so in a
sentence read as Chinese each of these English words, standing alone, becomes the word the
merchant would otherwise have used. Only words with one meaning in a shop go in the list:
"sales" (units or money?) and "low" (a threshold?) do not, and product titles are never
touched because the words are whole words of the trade, not of a catalog.
"""

from __future__ import annotations

import re

_TERMS: dict[str, str] = {
    "price": "价格",
    "prices": "价格",
    "stock": "库存",
    "inventory": "库存",
    "order": "订单",
    "orders": "订单",
    "refund": "退款",
    "ship": "发货",
    "add": "加",
    "cancel": "取消",
    "undo": "撤销",
    "revenue": "营业额",
    "export": "导出",
    "publish": "上架",
    "unpublish": "下架",
    "unlist": "下架",
}

# A whole ASCII word: not part of a longer word, a SKU (A100) or a code (add-on).
_WORD = re.compile(r"(?<![A-Za-z0-9-])(" + "|".join(sorted(_TERMS, key=len, reverse=True)) + r")(?![A-Za-z0-9-])", re.I)


def read_english_terms(text: str) -> str:
    """The English trade words of a Chinese sentence in Chinese; call only on text read as Chinese."""
    return _WORD.sub(lambda found: _TERMS[found.group(1).lower()], text)
