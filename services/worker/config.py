"""Worker settings from the environment (every variable in docs/configuration.md).

The broker's visibility timeout and the tasks' hard time limit are read together
and checked against each other at import: a task that may run longer than the
visibility timeout would be handed to a second worker while the first still runs.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import Field, model_validator

from shopvoice.config import RedisSettings, ServiceAddresses, ServiceSettings


class WorkerSettings(ServiceSettings, RedisSettings, ServiceAddresses):
    celery_broker_url: str = Field(
        "", alias="CELERY_BROKER_URL", description="Celery broker and result backend; empty = REDIS_URL"
    )
    # Redelivery: a task a dead worker held comes back after this long. Must exceed the
    # longest task (task_time_limit_s) or a live task is run twice in parallel.
    visibility_timeout_s: int = Field(3600, alias="CELERY_VISIBILITY_TIMEOUT_S", ge=2)
    task_time_limit_s: int = Field(600, alias="CELERY_TASK_TIME_LIMIT_S", ge=1)
    # How often a worker looks for messages whose visibility timeout ran out (kombu's default
    # scans only every 10th tick of 10 s); the scan is one ZRANGE on the unacked index.
    restore_interval_s: float = Field(10, alias="CELERY_RESTORE_INTERVAL_S", gt=0)
    # The redelivery scan holds a Redis mutex this long at most: a worker killed while holding
    # it would otherwise block redelivery for kombu's default of 300 s.
    unacked_mutex_expire_s: int = Field(30, alias="CELERY_UNACKED_MUTEX_EXPIRE_S", ge=1)
    bulk_batch_size: int = Field(200, alias="BULK_BATCH_SIZE", ge=1, le=5000)
    bulk_concurrency: int = Field(16, alias="BULK_CONCURRENCY", ge=1, le=256, description="RPCs in flight per batch")
    reply_ttl_s: int = Field(3600, alias="NLU_REPLY_TTL_S", description="lifetime of a session's reply stream")
    job_ttl_s: int = Field(7 * 86400, alias="WORKER_JOB_TTL_S", ge=60, description="how long a job's state is kept")
    export_dir: Path = Field(Path("/tmp/shopvoice-exports"), alias="EXPORT_DIR")
    merchants: str = Field("", alias="WORKER_MERCHANTS", description="comma-separated shops the periodic jobs watch")
    low_stock_threshold: int = Field(5, alias="LOW_STOCK_THRESHOLD", ge=0)
    unshipped_reminder_hours: Decimal = Field(Decimal(24), alias="UNSHIPPED_REMINDER_HOURS", gt=0)
    alert_period_s: int = Field(86400, alias="ALERT_PERIOD_S", ge=60, description="one alert per item per period")
    low_stock_every_s: float = Field(3600, alias="LOW_STOCK_EVERY_S", gt=0)
    unshipped_every_s: float = Field(3600, alias="UNSHIPPED_EVERY_S", gt=0)

    @model_validator(mode="after")
    def _time_limit_below_visibility(self) -> WorkerSettings:
        if self.task_time_limit_s >= self.visibility_timeout_s:
            raise ValueError(
                f"CELERY_TASK_TIME_LIMIT_S ({self.task_time_limit_s}) must be below CELERY_VISIBILITY_TIMEOUT_S"
                f" ({self.visibility_timeout_s}): a task still running when its message becomes visible again"
                " is started a second time by another worker"
            )
        return self

    @property
    def broker_url(self) -> str:
        return self.celery_broker_url or self.redis_url

    @property
    def merchant_ids(self) -> list[str]:
        return [m.strip() for m in self.merchants.split(",") if m.strip()]

    @property
    def alerts_stream(self) -> str:
        return self.redis_keys.alerts

    def key(self, *parts: str) -> str:
        """A worker-owned Redis key, in this deployment's namespace."""
        return self.redis_keys.worker(*parts)
