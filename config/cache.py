"""Django's Redis cache backend, keeping its redis-py client.

Django builds a new `redis.Redis` object for every cache call (its constructor fills a table of
~170 response callbacks), which cost more than the round trip itself on the cached-page path.
The client is thread-safe and holds no connection of its own (the pool does), so one per pool
is kept and reused."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient


# SET NX EX + INCR for each counter, then GET for each key to read, server-side: one command,
# whatever the number of keys (redis-py's per-command overhead, not the network, dominates on a
# local Redis). ARGV: timeout, number of counters.
_INCR_SCRIPT = """
local out = {}
local counters = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  if i <= counters then
    redis.call('SET', key, 0, 'EX', ARGV[1], 'NX')
    out[i] = redis.call('INCR', key)
  else
    out[i] = redis.call('GET', key)
  end
end
return out
"""

_scripts: dict[int, object] = {}  # per redis client: EVALSHA of the registered script


def incr_counters(cache, keys: list[str], timeout: int) -> list[int]:
    """Add 1 to each counter (made at 0, living `timeout` seconds from its first use) and return
    the new values. On Redis one round trip for all of them; elsewhere add + incr."""
    return incr_counters_and_read(cache, keys, timeout)[0]


def incr_counters_and_read(
    cache, keys: list[str], timeout: int, read: list[str] | tuple[str, ...] = ()
) -> tuple[list[int], list[Any]]:
    """incr_counters, and the cached values of `read` (None where missing) in the same round
    trip: a form POST checks its rate limits and reads the site's version at once."""
    backend = getattr(cache, "_cache", None)  # through django.core.cache.cache's proxy
    if isinstance(backend, RedisCacheClient):
        client = backend.get_client(write=True)
        script = _scripts.get(id(client))
        if script is None:
            script = _scripts[id(client)] = client.register_script(_INCR_SCRIPT)
        made = [cache.make_and_validate_key(key) for key in [*keys, *read]]
        out = list(script(keys=made, args=[timeout, len(keys)]))
        values = [None if v is None else backend._serializer.loads(v) for v in out[len(keys) :]]
        return out[: len(keys)], values
    counts = []
    for key in keys:
        cache.add(key, 0, timeout)
        counts.append(cache.incr(key))
    found = cache.get_many(list(read)) if read else {}
    return counts, [found.get(key) for key in read]
