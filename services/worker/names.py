"""Task names, the worker's contract with its callers.

Callers (the NLU, the CLI) send tasks by name through `client.py`, so they never
import the task code or its dependencies.
"""

from __future__ import annotations

BULK_ADJUST_PRICE = "shopvoice.worker.bulk_adjust_price"
BULK_ADJUST_BATCH = "shopvoice.worker.bulk_adjust_batch"
EXPORT_SALES_CSV = "shopvoice.worker.export_sales_csv"
LOW_STOCK_ALERTS = "shopvoice.worker.low_stock_alerts"
UNSHIPPED_REMINDERS = "shopvoice.worker.unshipped_reminders"
