"""The hand-over journal: what a worker gave to the backend but has not yet marked as sent.

A worker may be killed (SIGKILL, OOM, power) between the moment the backend accepted a message
and the commit that marks its delivery `sent`. Just before the last step of a hand-over (for
SMTP: before writing the final "." of DATA, after which the server owns the message), the
worker appends the delivery id to its own journal file: one `write()` of a few bytes, which the
kernel keeps even if the process dies a microsecond later. The batch's commit empties the file.
The reaper (pipeline.reap) settles rows stuck in `sending`: an id found in any journal was
handed over (marked sent, never sent twice); an id not found was not (queued again).

The journal lives on local disk (COMMS_JOURNAL_DIR), so the reaper must run on a host that can
read the senders' journals: one machine, or a shared directory. A reaper that cannot see a
dead worker's journal falls back to at-least-once for that worker's last batch.
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


def handed_over(schema: str) -> set[int]:
    """Every delivery id of `schema` named in any journal of the journal directory."""
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
