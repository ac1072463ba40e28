"""Token buckets in Redis: a global send rate and one per nation, reserved before a claim.

`reserve(schema, channel, want)` takes up to `want` tokens from both buckets at once (a Lua
script, so concurrent workers on any host share the buckets exactly) and returns how many it
got; `refund` gives back what a claim did not use. Buckets refill continuously at their rate
and hold at most one second of burst."""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings

_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local grant = tonumber(ARGV[1])
local levels = {}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local state = redis.call('HMGET', key, 't', 'v')
  local t = tonumber(state[1]) or now
  local v = tonumber(state[2]) or burst
  v = math.min(burst, v + (now - t) * rate)
  levels[i] = v
  if v < grant then grant = math.floor(v) end
end
if grant < 0 then grant = 0 end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 't', now, 'v', levels[i] - grant)
  redis.call('EXPIRE', key, 120)
end
return grant
"""


@lru_cache(maxsize=1)
def client() -> redis.Redis:
    return redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])


@lru_cache(maxsize=1)
def _script():
    return client().register_script(_RESERVE)


def _buckets(schema: str, channel: str) -> list[tuple[str, float]]:
    rates = settings.COMMS_RATES.get(channel, settings.COMMS_RATES["email"])
    return [
        (f"comms:rate:{channel}:global", float(rates["global"])),
        (f"comms:rate:{channel}:{schema}", float(rates["nation"])),
    ]


def reserve(schema: str, channel: str, want: int) -> int:
    buckets = _buckets(schema, channel)
    args: list[float] = [want]
    for _key, rate in buckets:
        args += [rate, max(rate, want)]  # one second of burst, and never less than one batch
    return int(_script()(keys=[k for k, _r in buckets], args=args))


def refund(schema: str, channel: str, count: int) -> None:
    if count <= 0:
        return
    pipe = client().pipeline()
    for key, _rate in _buckets(schema, channel):
        pipe.hincrbyfloat(key, "v", count)
    pipe.execute()
