"""The worker's jobs as other services start them: task names and a sender.

A service never imports the worker's code (services are leaves): it sends a task by name
through Celery's broker (Redis), with the same key prefix as the worker's app
(`RedisKeys.celery`), and the worker's reply messages come back on the session's reply
stream named in the job's arguments.

Bulk change job arguments (`BULK_ADJUST_PRICE`, every kind of bulk change despite its
historical name): (job_id, spec), spec a dict of the worker's BulkSpec: merchant_id, kind
("adjust_price", "set_price", "set_stock", "adjust_stock"), skus (the explicit snapshot the
merchant confirmed), percent / delta / price / quantity, user_id, role, reply_stream, chinese.
`BULK_UNDO`: (undo_job_id, job_id, user_id, role, reply_stream, chinese): every change the job
made, reverted as one step.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

BULK_ADJUST_PRICE = "shopvoice.worker.bulk_adjust_price"
BULK_ADJUST_BATCH = "shopvoice.worker.bulk_adjust_batch"
BULK_UNDO = "shopvoice.worker.bulk_undo"
EXPORT_SALES_CSV = "shopvoice.worker.export_sales_csv"
LOW_STOCK_ALERTS = "shopvoice.worker.low_stock_alerts"
UNSHIPPED_REMINDERS = "shopvoice.worker.unshipped_reminders"
QUEUE = "shopvoice"


class JobSender:
    """Sends worker tasks by name (a blocking Redis write of a few ms: call it from a thread)."""

    def __init__(self, broker_url: str, key_prefix: str) -> None:
        self.app = Celery("shopvoice-sender", broker=broker_url, backend=broker_url)
        self.app.conf.update(
            task_serializer="json",
            accept_content=["json"],
            task_default_queue=QUEUE,
            broker_transport_options={"global_keyprefix": key_prefix},
            result_backend_transport_options={"global_keyprefix": key_prefix},
            broker_connection_retry_on_startup=True,
        )

    def send(self, name: str, args: tuple[Any, ...], task_id: str) -> None:
        """Enqueue once per task_id from the caller's side (a replayed confirm reuses its id)."""
        self.app.send_task(name, args=args, task_id=task_id)
