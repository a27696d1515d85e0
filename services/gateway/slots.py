"""A merchant's concurrent sessions, counted in Redis so the cap holds across replicas.

Each open session holds a slot: a member of the merchant's sorted set whose
score is when its lease ends. The session renews its lease while it lives and
removes it when it ends; a gateway that crashes renews nothing, so its slots
fall out after SESSION_LEASE_S (crash-safe expiry). Acquiring first drops the
expired members, then counts, then adds, atomically in one Lua script.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from shopvoice.redis_keys import RedisKeys

# KEYS[1]: the merchant's set. ARGV: max sessions, session id, lease ms.
# Returns {granted (1/0), sessions now open}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local open = redis.call('ZCARD', KEYS[1])
if open >= tonumber(ARGV[1]) then return {0, open} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, open + 1}
"""

# KEYS[1]: the set. ARGV: session id, lease ms. Renews only a member still there.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return renewed
"""


@dataclass(frozen=True)
class Admission:
    granted: bool
    open_sessions: int


class SessionSlots:
    def __init__(self, redis: aioredis.Redis, prefix: str, max_per_merchant: int, lease_s: float) -> None:
        self.redis = redis
        self.prefix = prefix
        self.max_per_merchant = max_per_merchant
        self.lease_ms = int(lease_s * 1000)
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)

    def key(self, merchant_id: str) -> str:
        return RedisKeys(self.prefix).session_slots(merchant_id)

    async def acquire(self, merchant_id: str, session_id: str) -> Admission:
        granted, open_sessions = await self._acquire(
            keys=[self.key(merchant_id)], args=[self.max_per_merchant, session_id, self.lease_ms]
        )
        return Admission(bool(granted), int(open_sessions))

    async def renew(self, merchant_id: str, session_id: str) -> None:
        await self._renew(keys=[self.key(merchant_id)], args=[session_id, self.lease_ms])

    async def release(self, merchant_id: str, session_id: str) -> None:
        await self.redis.zrem(self.key(merchant_id), session_id)

    async def count(self, merchant_id: str) -> int:
        """Sessions whose lease has not run out (for tests and operators)."""
        t: tuple[int, int] = await self.redis.time()
        now_ms = t[0] * 1000 + t[1] // 1000
        return int(await self.redis.zcount(self.key(merchant_id), now_ms, "+inf"))
