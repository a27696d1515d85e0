"""The Celery app for given settings: the worker's own (app.py) and a sender's (client.py).

Delivery is at-least-once and every task is idempotent, so a lost worker costs
time, never a double change:

- task_acks_late + task_reject_on_worker_lost: a message is acknowledged only after
  its task returned; a worker killed mid-task (SIGKILL, OOM) leaves it unacknowledged.
- broker visibility_timeout (CELERY_VISIBILITY_TIMEOUT_S, default 3600 s): after that
  long an unacknowledged message is delivered again. It must exceed the longest
  task, so task_time_limit (CELERY_TASK_TIME_LIMIT_S, default 600 s) is checked to be
  below it at start; bulk work is cut into batches that take seconds, far below both.
- unacked_restore_interval (CELERY_RESTORE_INTERVAL_S, default 10 s), throttle 1: how
  often workers scan for such messages; kombu's default scans every ~100 s.
- worker_prefetch_multiplier=1: a worker holds only what it runs, so a kill strands
  at most `concurrency` messages, and other workers take the rest at once.
- JSON only: no pickle from the broker.

Broker and result backend are Redis (CELERY_BROKER_URL, else REDIS_URL), every key
under `{STREAM_PREFIX}:celery:` so deployments (and tests) sharing a Redis stay apart.
"""

from __future__ import annotations

from celery import Celery

from services.worker import names
from services.worker.config import WorkerSettings


def make_app(settings: WorkerSettings) -> Celery:
    """The app for these settings; a caller that only sends tasks (client.py) builds its own."""
    transport = {
        "visibility_timeout": settings.visibility_timeout_s,
        "global_keyprefix": settings.redis_keys.celery,
        "unacked_restore_interval": settings.restore_interval_s,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": settings.unacked_mutex_expire_s,
    }
    celery = Celery(
        "shopvoice",
        broker=settings.broker_url,
        backend=settings.broker_url,
        include=["services.worker.bulk", "services.worker.exports", "services.worker.periodic"],
    )
    celery.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit_s,
        task_soft_time_limit=max(1, settings.task_time_limit_s - max(1, settings.task_time_limit_s // 10)),
        broker_transport_options=transport,
        result_backend_transport_options={"global_keyprefix": transport["global_keyprefix"]},
        result_expires=86400,
        task_default_queue="shopvoice",
        broker_connection_retry_on_startup=True,
        timezone="UTC",
        enable_utc=True,
        beat_schedule={
            "low-stock-alerts": {"task": names.LOW_STOCK_ALERTS, "schedule": settings.low_stock_every_s},
            "unshipped-reminders": {"task": names.UNSHIPPED_REMINDERS, "schedule": settings.unshipped_every_s},
        },
    )
    return celery
