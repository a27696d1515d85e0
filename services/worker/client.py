"""How other services start worker jobs: by task name (send_task), never importing task code.

The NLU calls `submit_bulk_price_change` once the merchant has confirmed a bulk
command (a bulk change is destructive: always proposed, run only after confirm):

    from services.worker.client import BulkPriceChange, WorkerClient

    worker = WorkerClient()  # once, at start; settings from the environment
    job_id = await asyncio.to_thread(worker.submit_bulk_price_change, BulkPriceChange(
        merchant_id=caller.merchant_id, selector="T恤", percent="10",
        user_id=caller.user_id, role=caller.role,
        reply_stream=session_reply_stream, chinese=caller.chinese,
        job_id=f"bulk-{caller.utterance_id}",  # a redelivered confirm starts no second job
    ))

and answers the confirming utterance at once ("已开始…"); the worker then sends
Progress messages and a final Result to `reply_stream`, with the job id as their
utterance_id (the gateway drops messages of an utterance it already answered).
`send_task` is a blocking Redis write of a few milliseconds, hence `to_thread`.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass
from typing import Any

import redis.asyncio as aioredis

from services.worker import names
from services.worker.celery_app import make_app
from services.worker.config import WorkerSettings
from services.worker.jobs import BulkSpec, Job


@dataclass(frozen=True)
class BulkPriceChange:
    merchant_id: str
    selector: str  # title words ("T恤", "t-shirt"); "" = every product
    percent: str | None = None  # "10" = +10 %
    delta: str | None = None  # "-5.00"
    user_id: str = ""
    role: str = ""
    reply_stream: str = ""
    chinese: bool = False
    confirmed_by: str = ""  # the user who confirmed it; "" = nobody (the catalog may refuse)
    job_id: str = ""  # empty: a new one; pass a stable one to make submitting idempotent


class WorkerClient:
    def __init__(self, settings: WorkerSettings | None = None) -> None:
        self.settings = settings or WorkerSettings()
        self.app = make_app(self.settings)

    def submit_bulk_price_change(self, change: BulkPriceChange) -> str:
        """Enqueue the job and return its id; sending the same job_id twice runs it once."""
        job_id = change.job_id or f"bulk-{uuid.uuid4().hex}"
        fields = asdict(change)
        fields.pop("job_id")
        spec = BulkSpec(**fields)  # validates percent xor delta before anything is sent
        self.app.send_task(names.BULK_ADJUST_PRICE, args=(job_id, asdict(spec)), task_id=f"{job_id}:start")
        return job_id

    def submit_sales_export(self, merchant_id: str, period: str, time_zone: str = "") -> Any:
        """Enqueue a CSV export of a period's sales; the AsyncResult's value is the file's path."""
        return self.app.send_task(names.EXPORT_SALES_CSV, args=(merchant_id, period, time_zone))

    def job_status(self, job_id: str) -> dict[str, Any]:
        """total, done and (once finished) the summary of a bulk job."""

        async def read() -> dict[str, Any]:
            redis = aioredis.Redis.from_url(self.settings.redis_url)
            try:
                job = Job(redis, self.settings.key("bulk"), job_id, self.settings.job_ttl_s)
                return await job.status()
            finally:
                await redis.aclose()

        return asyncio.run(read())
