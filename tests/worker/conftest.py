"""A real catalog process and real Celery workers against the real Redis, per module.

Everything the worker writes to Redis (broker, results, job state, alerts) lives
under the module's own STREAM_PREFIX; shops are kept apart by merchant_id.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.worker.client import WorkerClient
from services.worker.config import WorkerSettings
from tests.support import servers
from tests.support.processes import ServiceProcess
from tests.worker.workers import CeleryWorker

# Short enough that a job a killed worker held comes back within the test, and still
# above the task time limit (the worker refuses to start otherwise).
VISIBILITY_TIMEOUT_S = 6
TASK_TIME_LIMIT_S = 5


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    with servers.stream_namespace(redis_url) as value:
        yield value


@pytest.fixture(scope="module")
def catalog_database(pg_admin_url: str) -> Iterator[str]:
    with servers.fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture(scope="module")
def catalog(
    catalog_database: str, redis_url: str, prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    env = {"DATABASE_URL": catalog_database, "REDIS_URL": redis_url, "STREAM_PREFIX": prefix}
    proc = ServiceProcess("catalog", env, tmp_path_factory.mktemp("catalog")).start()
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture(scope="module")
def worker_env(
    redis_url: str, prefix: str, catalog: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "STREAM_PREFIX": prefix,
        "CATALOG_ADDR": catalog.address,
        # Required by the worker's settings; only the reminder test calls orders, and starts one for it.
        "ORDERS_ADDR": "127.0.0.1:9",
        "CELERY_VISIBILITY_TIMEOUT_S": str(VISIBILITY_TIMEOUT_S),
        "CELERY_TASK_TIME_LIMIT_S": str(TASK_TIME_LIMIT_S),
        "CELERY_RESTORE_INTERVAL_S": "1",
        "CELERY_UNACKED_MUTEX_EXPIRE_S": "3",
        "BULK_BATCH_SIZE": "100",
        "EXPORT_DIR": str(tmp_path_factory.mktemp("exports")),
        "LOG_LEVEL": "INFO",
    }


@pytest.fixture(scope="module")
def client(worker_env: dict[str, str]) -> WorkerClient:
    return WorkerClient(WorkerSettings(**worker_env))  # type: ignore[arg-type]


@pytest.fixture
def start_worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., CeleryWorker]]:
    started: list[CeleryWorker] = []

    def start(name: str = "w1", **extra_env: str) -> CeleryWorker:
        worker = CeleryWorker({**worker_env, **extra_env}, tmp_path, name=name).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def merchant() -> str:
    return f"m-{uuid.uuid4().hex[:10]}"
