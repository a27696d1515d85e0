"""Async steps inside sync Celery tasks: each step gets its own event loop and Redis client.

A Celery task is a plain function in a prefork child; the gRPC and Redis clients we
share with the services are asyncio ones, so a task runs its work with asyncio.run.
Nothing is kept between tasks: a child may be killed at any moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import redis.asyncio as aioredis

T = TypeVar("T")


def run_with_redis(redis_url: str, step: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
    async def main() -> T:
        redis = aioredis.Redis.from_url(redis_url)
        try:
            return await step(redis)
        finally:
            await redis.aclose()

    return asyncio.run(main())
