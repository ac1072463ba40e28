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


@dataclass
class Relay:
    """Where and how to connect: the platform's server (settings) or a nation's own relay."""

    host: str
    port: int
    username: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False

    @classmethod
    def platform(cls) -> Relay:
        return cls(
            host=settings.COMMS_SMTP_HOST or settings.EMAIL_HOST,
            port=int(settings.COMMS_SMTP_PORT or settings.EMAIL_PORT),
            username=settings.EMAIL_HOST_USER,
            password=settings.EMAIL_HOST_PASSWORD,
            use_tls=settings.EMAIL_USE_TLS,
            use_ssl=settings.EMAIL_USE_SSL,
        )


class SmtpSender:
    def __init__(self, relay: Relay | None = None) -> None:
        self.conn: smtplib.SMTP | None = None
        self.relay = relay or Relay.platform()

    def open(self) -> None:
        if self.conn is not None:
            return
        relay = self.relay
        cls = smtplib.SMTP_SSL if relay.use_ssl else smtplib.SMTP
        conn = cls(relay.host, relay.port, timeout=settings.EMAIL_TIMEOUT)
        try:
            # The message and its final "." are two writes; without this, Nagle's algorithm
            # holds the second until the first is acknowledged (40 ms per message).
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.ehlo_or_helo_if_needed()
            if relay.use_tls:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if relay.username:
                conn.login(relay.username, relay.password)
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
