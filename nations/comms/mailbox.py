"""The inbound bounce mailbox, polled every minute by beat (`comms.poll_bounces`).

Bounces (RFC 3464 DSNs) and abuse reports (ARF) sent to COMMS_BOUNCE_ADDRESS land in a mailbox
that is read here over IMAP (COMMS_BOUNCE_IMAP_URL, imaplib) and/or from a Maildir on this host
(COMMS_BOUNCE_MAILDIR, for self-hosters whose MTA delivers locally). Each message goes through
dsn.bounce_process: a hard bounce suppresses the address, a complaint also withdraws consent.

A report that was applied is deleted; a message that is not a report on one of our messages is
marked seen and left for a human. bounce_process records each report under a hash of its bytes,
so a crash between applying and deleting applies it once, not twice.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import mailbox
from collections import Counter
from urllib.parse import unquote, urlsplit

from django.conf import settings

from .dsn import bounce_process

log = logging.getLogger(__name__)

BATCH = 500  # messages per poll and mailbox; the rest waits for the next minute


def poll() -> Counter:
    """Read every configured mailbox once; returns what was done, e.g. {"bounce": 3}."""
    done: Counter = Counter()
    if settings.COMMS_BOUNCE_IMAP_URL:
        done += poll_imap(settings.COMMS_BOUNCE_IMAP_URL)
    if settings.COMMS_BOUNCE_MAILDIR:
        done += poll_maildir(settings.COMMS_BOUNCE_MAILDIR)
    return done


def poll_maildir(path: str) -> Counter:
    done: Counter = Counter()
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in list(box.iterkeys())[:BATCH]:
        message = box.get_message(key)
        if "S" in message.get_flags():
            continue
        outcome = bounce_process(box.get_bytes(key))
        done[outcome] += 1
        if outcome == "ignored":
            message.set_subdir("cur")
            message.add_flag("S")
            box[key] = message
        else:
            box.discard(key)
    return done


def _connect(url: str) -> tuple[imaplib.IMAP4, str]:
    parts = urlsplit(url)
    secure = parts.scheme == "imaps"
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError("COMMS_BOUNCE_IMAP_URL must start with imap:// or imaps://")
    port = parts.port or (993 if secure else 143)
    cls = imaplib.IMAP4_SSL if secure else imaplib.IMAP4
    conn = cls(parts.hostname or "localhost", port, timeout=30)
    if parts.scheme == "imap" and "STARTTLS" in conn.capabilities:
        conn.starttls()
    conn.login(unquote(parts.username or ""), unquote(parts.password or ""))
    return conn, unquote(parts.path.lstrip("/")) or "INBOX"


def poll_imap(url: str) -> Counter:
    done: Counter = Counter()
    conn, folder = _connect(url)
    try:
        status, _data = conn.select(folder)
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open {folder}")
        status, data = conn.uid("SEARCH", None, "UNSEEN")
        uids = (data[0] or b"").split()[:BATCH]
        for uid in uids:
            status, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if status != "OK" or raw is None:
                continue
            outcome = bounce_process(raw)
            done[outcome] += 1
            flag = r"(\Seen)" if outcome == "ignored" else r"(\Deleted)"
            conn.uid("STORE", uid, "+FLAGS", flag)
        conn.expunge()
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            conn.logout()
    return done
