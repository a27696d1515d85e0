"""The worker's Celery app: `celery -A services.worker.app worker` and `... beat` (deploy/k8s/base/worker.yaml).

Its settings come from the environment when the worker (or beat) imports this module;
what is missing ends the process here with a line naming it. How the app is made, and
why it delivers at least once, is celery_app.py's docstring.
"""

from __future__ import annotations

from typing import Any

from celery import signals

from services.worker.celery_app import make_app
from services.worker.config import WorkerSettings
from shopvoice import log
from shopvoice.config import load

settings = load(WorkerSettings)  # from the environment; what is missing ends the process here
app = make_app(settings)


@signals.setup_logging.connect
def _json_logs(**_: Any) -> None:
    """Our JSON-lines logging instead of Celery's (connecting this stops Celery configuring its own)."""
    log.configure("worker", settings.log_level)
