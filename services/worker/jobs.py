"""A bulk job's state in Redis: what it was asked, which SKUs it covers, each SKU's outcome.

The SKU list is a snapshot taken once (the first snapshot wins, under WATCH), so a
re-run after a crash covers the same SKUs even if the catalog changed meanwhile.
Outcomes are a hash sku -> outcome: recording one twice overwrites it, so counts
stay right however often a batch is redelivered. Progress is the hash's size.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

CHANGED = "changed"
SKIPPED = "skipped"
FAILED = "failed"


KINDS = ("adjust_price", "set_price", "set_stock", "adjust_stock")


@dataclass(frozen=True)
class BulkSpec:
    """What the merchant confirmed: which products, what change, who asked.

    `skus`, when given, is the selection the merchant confirmed (the NLU's proposal named its
    count and examples): exactly those are changed. Otherwise `selector` (words of a title) is
    looked up in the catalog when the job starts.
    """

    merchant_id: str
    selector: str = ""  # words of a title ("T恤", "t-shirt"); empty = every product
    percent: str | None = None  # "10" = 10% higher, "-20" = 20% lower
    delta: str | None = None  # "-5.00" = 5 lower (adjust_price); "-3" (adjust_stock)
    user_id: str = ""
    role: str = ""
    reply_stream: str = ""  # the session's reply stream; empty = no replies
    chinese: bool = False
    kind: str = "adjust_price"
    price: str | None = None  # set_price: "69.00"
    quantity: int | None = None  # set_stock
    skus: list[str] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown bulk change {self.kind!r}: one of {', '.join(KINDS)}")
        if self.kind == "adjust_price" and (self.percent is None) == (self.delta is None):
            raise ValueError("a bulk price change takes exactly one of percent or delta")
        if self.kind == "set_price" and self.price is None:
            raise ValueError("a bulk set_price needs a price")
        if self.kind == "set_stock" and self.quantity is None:
            raise ValueError("a bulk set_stock needs a quantity")
        if self.kind == "adjust_stock" and self.delta is None:
            raise ValueError("a bulk adjust_stock needs a delta")

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> BulkSpec:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Outcome:
    """One SKU's result: changed, skipped (gone since the snapshot) or failed, with why."""

    kind: str
    reason: str = ""

    def encode(self) -> str:
        return f"{self.kind}:{self.reason}"

    @classmethod
    def decode(cls, raw: bytes | str) -> Outcome:
        text = raw.decode() if isinstance(raw, bytes) else raw
        kind, _, reason = text.partition(":")
        return cls(kind, reason)


@dataclass
class Summary:
    total: int
    changed: int = 0
    skipped: int = 0
    failed: int = 0
    reasons: list[tuple[str, int, list[str]]] = field(default_factory=list)  # (reason, count, example SKUs)


class Job:
    def __init__(self, redis: aioredis.Redis, key_prefix: str, job_id: str, ttl_s: int) -> None:
        self.redis = redis
        self.job_id = job_id
        self.ttl_s = ttl_s
        base = f"{key_prefix}:job:{job_id}"
        self.meta_key = f"{base}:meta"
        self.skus_key = f"{base}:skus"
        self.outcomes_key = f"{base}:outcomes"
        self.summary_flag = f"{base}:summary-sent"

    async def total(self) -> int | None:
        raw = await self.redis.hget(self.meta_key, "total")
        return None if raw is None else int(raw)

    async def spec(self) -> BulkSpec:
        raw = await self.redis.hget(self.meta_key, "spec")
        if raw is None:
            raise LookupError(f"bulk job {self.job_id} has no snapshot (expired or never started)")
        return BulkSpec.from_json(raw)

    async def snapshot(self, spec: BulkSpec, skus: list[str]) -> int:
        """Store the SKU list unless one is stored already; returns the job's total either way."""
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(self.meta_key)
                existing = await pipe.hget(self.meta_key, "total")
                if existing is not None:
                    return int(existing)
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.delete(self.skus_key)
                for start in range(0, len(skus), 1000):
                    pipe.rpush(self.skus_key, *skus[start : start + 1000])
                pipe.hset(self.meta_key, mapping={"spec": spec.to_json(), "total": len(skus)})
                for key in (self.meta_key, self.skus_key, self.outcomes_key):
                    pipe.expire(key, self.ttl_s)
                await pipe.execute()
                return len(skus)
            except WatchError:
                pass
        total = await self.total()
        assert total is not None, "a concurrent snapshot of this job vanished"
        return total

    async def mark(self, name: str) -> bool:
        """Set a one-time flag on the job; True the first time."""
        return bool(await self.redis.hsetnx(self.meta_key, name, "1"))

    async def has(self, name: str) -> bool:
        return bool(await self.redis.hexists(self.meta_key, name))

    async def batch(self, index: int, size: int) -> list[str]:
        raw = await self.redis.lrange(self.skus_key, index * size, (index + 1) * size - 1)
        return [s.decode() if isinstance(s, bytes) else s for s in raw]

    async def pending(self, skus: list[str]) -> list[str]:
        """The SKUs of a batch without a recorded outcome (a redelivered batch skips the rest)."""
        if not skus:
            return []
        known = await self.redis.hmget(self.outcomes_key, skus)
        return [sku for sku, outcome in zip(skus, known, strict=True) if outcome is None]

    async def record(self, sku: str, outcome: Outcome) -> None:
        await self.redis.hset(self.outcomes_key, sku, outcome.encode())

    async def done(self) -> int:
        return int(await self.redis.hlen(self.outcomes_key))

    async def summary(self) -> Summary:
        total = await self.total() or 0
        outcomes = await self.redis.hgetall(self.outcomes_key)
        result = Summary(total=total)
        by_reason: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}
        for raw_sku, raw in sorted(outcomes.items()):
            outcome = Outcome.decode(raw)
            if outcome.kind == CHANGED:
                result.changed += 1
                continue
            if outcome.kind == SKIPPED:
                result.skipped += 1
            else:
                result.failed += 1
            reason = f"{outcome.kind}: {outcome.reason}"
            by_reason[reason] += 1
            examples.setdefault(reason, [])
            if len(examples[reason]) < 3:
                examples[reason].append(raw_sku.decode() if isinstance(raw_sku, bytes) else raw_sku)
        result.reasons = [(reason, count, examples[reason]) for reason, count in by_reason.most_common(5)]
        return result

    async def store_summary(self, summary: Summary) -> None:
        await self.redis.hset(self.meta_key, "summary", json.dumps(asdict(summary), ensure_ascii=False))

    async def status(self) -> dict[str, Any]:
        """What `client.job_status` shows: total, done, and the summary once finished."""
        meta = await self.redis.hgetall(self.meta_key)
        summary = meta.get(b"summary")
        return {
            "job_id": self.job_id,
            "total": int(meta[b"total"]) if b"total" in meta else None,
            "done": await self.done(),
            "summary": json.loads(summary) if summary else None,
        }
