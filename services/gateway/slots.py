"""Concurrent sessions, per merchant and per user, counted in Redis so the caps hold across replicas.

Each open session holds a slot in its merchant's sorted set and in its user's (the score is
when its lease ends). The session renews its lease while it lives and removes it when it
ends; a gateway that crashes renews nothing, so its slots fall out after SESSION_LEASE_S
(crash-safe expiry). Acquiring first drops the expired members of both sets, then counts,
then adds, atomically in one Lua script (both keys share the merchant's hash slot).

Two rules keep one person from locking a shop out: a user holds at most
MAX_SESSIONS_PER_USER sessions, and the last OWNER_RESERVED_SESSIONS of a merchant's
MAX_SESSIONS_PER_MERCHANT are the owner's alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from shopvoice.redis_keys import RedisKeys

# KEYS: the merchant's set, the user's set. ARGV: merchant cap, user cap, session id, lease ms,
# the merchant cap for this caller (the cap less the owner's reserve, or the cap for an owner).
# Returns {granted (1/0), sessions of the merchant, sessions of the user, what was full ("" / "user" / "merchant")}.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local merchant = redis.call('ZCARD', KEYS[1])
local user = redis.call('ZCARD', KEYS[2])
if user >= tonumber(ARGV[2]) then return {0, merchant, user, 'user'} end
if merchant >= tonumber(ARGV[5]) then return {0, merchant, user, 'merchant'} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[3])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[4]))
return {1, merchant + 1, user + 1, ''}
"""

# KEYS: the merchant's set, the user's set. ARGV: session id, lease ms. Renews only a member still there.
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]))
return renewed
"""


@dataclass(frozen=True)
class Admission:
    granted: bool
    open_sessions: int  # the merchant's, this one included when granted
    user_sessions: int = 0
    full: str = ""  # "user" or "merchant" when refused


@dataclass(frozen=True)
class Holder:
    """Whose slot: the merchant, the user, and whether the user is the owner."""

    merchant_id: str
    user_id: str
    role: str = ""


class SessionSlots:
    def __init__(
        self,
        redis: aioredis.Redis,
        prefix: str,
        max_per_merchant: int,
        lease_s: float,
        max_per_user: int | None = None,
        owner_reserved: int = 0,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.max_per_merchant = max_per_merchant
        self.max_per_user = max_per_user if max_per_user is not None else max_per_merchant
        self.owner_reserved = min(owner_reserved, max_per_merchant - 1)
        self.lease_ms = int(lease_s * 1000)
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)

    def key(self, merchant_id: str) -> str:
        return RedisKeys(self.prefix).session_slots(merchant_id)

    def keys(self, holder: Holder) -> list[str]:
        return [
            self.key(holder.merchant_id),
            RedisKeys(self.prefix).user_session_slots(holder.merchant_id, holder.user_id),
        ]

    async def acquire(self, holder: Holder, session_id: str) -> Admission:
        cap = self.max_per_merchant if holder.role == "owner" else self.max_per_merchant - self.owner_reserved
        granted, merchant, user, full = await self._acquire(
            keys=self.keys(holder), args=[self.max_per_merchant, self.max_per_user, session_id, self.lease_ms, cap]
        )
        return Admission(
            bool(granted), int(merchant), int(user), full.decode() if isinstance(full, bytes) else str(full)
        )

    async def renew(self, holder: Holder, session_id: str) -> None:
        await self._renew(keys=self.keys(holder), args=[session_id, self.lease_ms])

    async def release(self, holder: Holder, session_id: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in self.keys(holder):
                pipe.zrem(key, session_id)
            await pipe.execute()

    async def count(self, merchant_id: str) -> int:
        """Sessions whose lease has not run out (for tests and operators)."""
        t: tuple[int, int] = await self.redis.time()
        now_ms = t[0] * 1000 + t[1] // 1000
        return int(await self.redis.zcount(self.key(merchant_id), now_ms, "+inf"))
