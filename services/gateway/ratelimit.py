"""Per-merchant and per-user token buckets in Redis, shared by every gateway replica.

Both buckets are checked and charged in one Lua script, so the decision is
atomic across replicas: a command takes a token from the merchant's bucket and
from the user's bucket, or from neither. The clock is Redis's own (TIME), so
replicas with skewed clocks agree. Bucket keys expire once they would be full
again, so idle merchants cost no memory. Keys share a hash tag per merchant
(Redis Cluster: one slot per script call).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from shopvoice.redis_keys import RedisKeys

# KEYS: the buckets. ARGV: rate_per_s, burst for each key, in the same order.
# Returns {allowed (1/0), retry_after_ms, index of the first empty bucket (1-based, 0 = none)}.
_TOKEN_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local wait, which = 0, 0
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or burst
  local ts = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
  levels[i] = tokens
  if tokens < 1 then
    local w = math.ceil((1 - tokens) * 1000 / rate)
    if w > wait then wait, which = w, i end
  end
end
if wait > 0 then return {0, wait, which} end
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - 1), 'ts', now)
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst * 1000 / rate) + 1000)
end
return {1, 0, 0}
"""


@dataclass(frozen=True)
class Rate:
    """Sustained commands per second and the burst allowed on top; per_s 0 = unlimited."""

    per_s: float
    burst: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_ms: int = 0
    reason: str = ""


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, prefix: str, merchant: Rate, user: Rate) -> None:
        self.redis = redis
        self.prefix = prefix
        self.merchant = merchant
        self.user = user
        self._script = redis.register_script(_TOKEN_BUCKET)

    def _buckets(self, merchant_id: str, user_id: str) -> list[tuple[str, Rate, str]]:
        tag = RedisKeys(self.prefix).rate_limit(merchant_id)
        buckets = [
            (f"{tag}:merchant", self.merchant, f"merchant {merchant_id}"),
            (f"{tag}:user:{user_id}", self.user, f"user {user_id}"),
        ]
        return [b for b in buckets if b[1].per_s > 0]

    async def take(self, merchant_id: str, user_id: str) -> Verdict:
        """Charge one command to both buckets, or refuse with how long to wait."""
        buckets = self._buckets(merchant_id, user_id)
        if not buckets:
            return Verdict(True)
        args: list[float | int] = []
        for _key, rate, _who in buckets:
            args += [rate.per_s, max(rate.burst, 1)]
        allowed, retry_after_ms, which = await self._script(keys=[b[0] for b in buckets], args=args)
        if allowed:
            return Verdict(True)
        _key, rate, who = buckets[int(which) - 1]
        return Verdict(
            False,
            int(retry_after_ms),
            f"rate limit of {who} reached ({rate.per_s:g} commands/s, burst {rate.burst}); "
            f"retry after {int(retry_after_ms) / 1000:.3f} s",
        )
