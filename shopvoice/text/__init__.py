"""Inverse text normalisation for shopvoice (zh + en): what ASR and people produce,
rewritten to one form the grammar matches (digits, ASCII, no fillers)."""

from shopvoice.text.amounts import discount_to_percent, format_money, format_percent
from shopvoice.text.pipeline import Normalized, detect_language, normalize

__all__ = [
    "Normalized",
    "detect_language",
    "discount_to_percent",
    "format_money",
    "format_percent",
    "normalize",
]
