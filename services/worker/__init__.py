"""The worker: Celery tasks for what outlives a request (bulk commands, exports, periodic jobs)."""
