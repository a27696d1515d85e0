"""Folding text for search: the NLU resolves spoken names against titles and SKUs.

NFKC turns full-width forms (Ａ１００, ＴＳＨＩＲＴ) into their ordinary ones and
casefold removes case, so "红色ｔ恤", "红色T恤" and "红色t恤" meet on one key.
The same function folds the stored title and the query, so they always agree.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """The search key of a title or a query: width- and case-insensitive."""
    return unicodedata.normalize("NFKC", text).casefold().strip()


def fold_sku(text: str) -> str:
    """A spoken or typed SKU in its stored form (SKUs are upper-case)."""
    return unicodedata.normalize("NFKC", text).strip().upper()
