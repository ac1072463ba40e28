"""The hand-over journal: what a worker gave to the backend but has not yet marked as sent.

A worker may be killed (SIGKILL, OOM, power) between the moment the backend accepted a message
and the commit that marks its delivery `sent`. Just before the last step of a hand-over (for
SMTP: before writing the final "." of DATA, after which the server owns the message), the
worker appends the delivery id to its own journal file: one `write()` of a few bytes, which the
kernel keeps even if the process dies a microsecond later. The batch's commit empties the file.
The reaper (pipeline.reap) settles rows stuck in `sending`: an id found in any journal was
handed over (marked sent, never sent twice); an id not found was not (queued again).

Where the journal lives (COMMS_JOURNAL):
- "file" (default): a file per worker on local disk (COMMS_JOURNAL_DIR). The reaper must run on
  a host that can read the senders' journals: one machine, or a shared directory. A reaper that
  cannot see a dead worker's journal falls back to at-least-once for that worker's last batch.
- "redis": a list per worker in the platform's Redis (the one of the rate buckets), so a reaper
  on any host sees every worker's hand-overs: exactly-once across hosts. It costs one Redis round
  trip per message (RPUSH) instead of a local write. The entry is acknowledged before the
  message is committed at the SMTP server, so a killed worker loses nothing; only a Redis crash
  without persistence (appendonly) could lose the entries of messages in flight at that moment.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from django.conf import settings


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Journal:
    def __init__(self) -> None:
        self.folder = Path(settings.COMMS_JOURNAL_DIR)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{socket.gethostname()}-{os.getpid()}.log"
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def handing_over(self, schema: str, delivery_id: int) -> None:
        os.write(self.fd, f"{schema} {delivery_id}\n".encode())

    def clear(self) -> None:
        os.ftruncate(self.fd, 0)

    def close(self) -> None:
        os.close(self.fd)


REDIS_PREFIX = "comms:journal:"
REDIS_TTL = 7 * 24 * 3600  # a dead worker's list outlives any reaper's patience, then goes


class RedisJournal:
    def __init__(self) -> None:
        from .rate import client

        self.redis = client()
        self.key = REDIS_PREFIX + worker_name()

    def handing_over(self, schema: str, delivery_id: int) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.rpush(self.key, f"{schema} {delivery_id}")
        pipe.expire(self.key, REDIS_TTL)
        pipe.execute()

    def clear(self) -> None:
        self.redis.delete(self.key)

    def close(self) -> None:
        pass


def open_journal() -> Journal | RedisJournal:
    return RedisJournal() if settings.COMMS_JOURNAL == "redis" else Journal()


def _redis_handed_over(schema: str) -> set[int]:
    from .rate import client

    redis = client()
    prefix = f"{schema} ".encode()
    found: set[int] = set()
    for key in redis.scan_iter(match=REDIS_PREFIX + "*", count=500):
        for entry in redis.lrange(key, 0, -1):
            if entry.startswith(prefix) and entry[len(prefix) :].isdigit():
                found.add(int(entry[len(prefix) :]))
    return found


def handed_over(schema: str) -> set[int]:
    """Every delivery id of `schema` named in any worker's journal."""
    if settings.COMMS_JOURNAL == "redis":
        return _redis_handed_over(schema)
    folder = Path(settings.COMMS_JOURNAL_DIR)
    found: set[int] = set()
    if not folder.is_dir():
        return found
    prefix = f"{schema} "
    for path in folder.glob("*.log"):
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(prefix):
                try:
                    found.add(int(line[len(prefix) :]))
                except ValueError:
                    continue
    return found


def is_alive(claimed_by: str) -> bool:
    """Whether the worker that claimed a row is still running (known only on its own host)."""
    host, _, pid = claimed_by.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def same_host(claimed_by: str) -> bool:
    return claimed_by.rpartition(":")[0] == socket.gethostname()
