"""Publishing exactly once: a dedupe flag and the stream entry written in one atomic step.

A Lua script sets the flag (SET NX EX) and, only if it was not set, adds the entry,
so a task that is run again after a crash neither repeats an alert or a summary
nor loses one (a flag without its entry, or the reverse, cannot happen).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

_SCRIPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 4))
  if tonumber(ARGV[3]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) end
  return 1
end
return 0
"""


async def publish_once(
    redis: aioredis.Redis,
    flag: str,
    stream: str,
    fields: dict[str, bytes | str],
    flag_ttl_s: int,
    maxlen: int = 100_000,
    stream_ttl_s: int = 0,
) -> bool:
    """True when this call published; False when the flag said it was done before."""
    flat: list[Any] = [flag_ttl_s, maxlen, stream_ttl_s]
    for name, value in fields.items():
        flat.extend((name, value))
    done = await redis.eval(_SCRIPT, 2, flag, stream, *flat)
    return bool(done)


# Progress from concurrent batches: each reads its count, then publishes; without a check
# a slower batch's smaller count could land after a faster one's larger one, and the
# client would see the job go backwards. The script publishes only counts above the last.
_ADVANCE = """
local last = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) <= last then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 5))
if tonumber(ARGV[4]) > 0 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return 1
"""


async def publish_if_advanced(
    redis: aioredis.Redis,
    counter: tuple[str, str],
    value: int,
    stream: str,
    fields: dict[str, bytes | str],
    maxlen: int = 100_000,
    stream_ttl_s: int = 0,
) -> bool:
    """Publish `fields` only if `value` is above the count last published under `counter`
    (a hash key and field), recording it in the same atomic step; True when published."""
    key, field = counter
    flat: list[Any] = [field, value, maxlen, stream_ttl_s]
    for name, data in fields.items():
        flat.extend((name, data))
    return bool(await redis.eval(_ADVANCE, 2, key, stream, *flat))
