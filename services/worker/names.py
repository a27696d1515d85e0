"""Task names, the worker's contract with its callers: one home, the library's shopvoice.jobs.

Callers (the NLU, the CLI) send tasks by name, so they never import the task code or its
dependencies.
"""

from __future__ import annotations

from shopvoice.jobs import (
    BULK_ADJUST_BATCH,
    BULK_ADJUST_PRICE,
    BULK_UNDO,
    EXPORT_SALES_CSV,
    LOW_STOCK_ALERTS,
    UNSHIPPED_REMINDERS,
)

__all__ = [
    "BULK_ADJUST_BATCH",
    "BULK_ADJUST_PRICE",
    "BULK_UNDO",
    "EXPORT_SALES_CSV",
    "LOW_STOCK_ALERTS",
    "UNSHIPPED_REMINDERS",
]
