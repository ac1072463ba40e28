"""SMTP hand-over with a journal point just before the server takes ownership of a message.

smtplib sends DATA's content and its terminating "." in one write; here the terminator is a
separate write, preceded by `before_commit()` (journal.Journal.handing_over). A failure before
that point means the server discarded the message (safe to retry); after it, the server may
have queued it, so the message is presumed sent (never sent twice)."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass

from django.conf import settings


@dataclass
class Outcome:
    status: str  # "sent", "retry" (transient: 4xx, connection lost before commit), "failed" (5xx)
    detail: str = ""


class SmtpSender:
    def __init__(self) -> None:
        self.conn: smtplib.SMTP | None = None

    def open(self) -> None:
        if self.conn is not None:
            return
        cls = smtplib.SMTP_SSL if settings.EMAIL_USE_SSL else smtplib.SMTP
        host = settings.COMMS_SMTP_HOST or settings.EMAIL_HOST
        port = settings.COMMS_SMTP_PORT or settings.EMAIL_PORT
        conn = cls(host, int(port), timeout=settings.EMAIL_TIMEOUT)
        try:
            # The message and its final "." are two writes; without this, Nagle's algorithm
            # holds the second until the first is acknowledged (40 ms per message).
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.ehlo_or_helo_if_needed()
            if settings.EMAIL_USE_TLS:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if settings.EMAIL_HOST_USER:
                conn.login(settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD)
        except Exception:
            conn.close()
            raise
        self.conn = conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.conn.close()
            self.conn = None

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, sender: str, recipient: str, message: bytes, before_commit) -> Outcome:
        try:
            self.open()
            conn = self.conn
            code, reply = conn.mail(sender)
            if code == 250:
                code, reply = conn.rcpt(recipient)
            if code in (250, 251):
                code, reply = conn.docmd("data")
            if code != 354:
                conn.rset()
                return _classify(code, reply)
            body = smtplib._quote_periods(message)  # noqa: SLF001 - smtplib's own dot-stuffing
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            conn.send(body)
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            return Outcome("retry", f"connection: {error}"[:300])
        before_commit()
        try:
            conn.send(b".\r\n")
            code, reply = conn.getreply()
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            return Outcome("sent", f"no reply after data, presumed sent: {error}"[:300])
        if code == 250:
            return Outcome("sent")
        return _classify(code, reply)


def _classify(code: int, reply: bytes) -> Outcome:
    text = f"{code} {reply.decode(errors='replace')}"[:300]
    if 400 <= code < 500 or code == -1:
        return Outcome("retry", text)
    return Outcome("failed", text)
