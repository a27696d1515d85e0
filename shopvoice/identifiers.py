"""The identifiers every service checks alike: merchant ids and SKUs. One rule each, here.

A merchant id is 1 to 64 characters; it comes from the gateway's verified token.

A SKU is the catalog's code for one variant: 1 to 64 characters, upper-case ASCII
letters, digits, '.', '_' and '-', starting with a letter or a digit ("A100", "TS-RED-M",
"A.1", "P3F9A1C2-2"). The catalog creates SKUs only in this form (its own, P and eight hex
digits with -N per variant, or the merchant's), and every service that takes one accepts
exactly these, so an order can name every SKU the catalog sells (orders once refused
"A.1"). The form is canonical: nothing is upper-cased on the way ("a100" is refused with
this message, never silently read as another SKU). Spoken SKUs are the NLU's business: its
command contract (shopvoice/grammar/contract.py) takes a spoken code or a title, and the
NLU resolves it to a catalog SKU before any service sees it.
"""

from __future__ import annotations

import re

from shopvoice.errors import InvalidArgument

MAX_MERCHANT_ID_CHARS = 64
SKU_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,63}")


def require_merchant(merchant_id: str) -> str:
    if not merchant_id or len(merchant_id) > MAX_MERCHANT_ID_CHARS:
        raise InvalidArgument(f"merchant_id is required (1-{MAX_MERCHANT_ID_CHARS} characters)")
    return merchant_id


def validate_sku(sku: str) -> str:
    if not SKU_PATTERN.fullmatch(sku):
        raise InvalidArgument(
            f"{sku[:80]!r} is not a SKU: use 1-64 upper-case letters, digits, '.', '_' or '-',"
            " starting with a letter or digit, like A100"
        )
    return sku
