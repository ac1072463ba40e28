"""A minimal IMAP4rev1 server for the bounce-mailbox tests (nothing pinned provides one).

It speaks the part of RFC 3501 that imaplib's client uses for a poll, over a real socket:
CAPABILITY, LOGIN, SELECT, UID SEARCH (ALL / UNSEEN), UID FETCH (BODY.PEEK[] / RFC822),
UID STORE +FLAGS, EXPUNGE, CLOSE, NOOP, LOGOUT. One mailbox, INBOX, shared by connections."""

from __future__ import annotations

import re
import socketserver
import threading


class Mailbox:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.lock = threading.Lock()
        self.messages: dict[int, bytes] = {}
        self.flags: dict[int, set[str]] = {}
        self.next_uid = 1
        self.logins: list[str] = []

    def add(self, raw: bytes) -> int:
        with self.lock:
            uid = self.next_uid
            self.next_uid += 1
            self.messages[uid] = raw
            self.flags[uid] = set()
            return uid


def _args(text: str) -> list[str]:
    return [a[1:-1] if a.startswith('"') else a for a in re.findall(r'"[^"]*"|\S+', text)]


class Handler(socketserver.StreamRequestHandler):
    box: Mailbox

    def send(self, line: str | bytes) -> None:
        self.wfile.write(line if isinstance(line, bytes) else line.encode() + b"\r\n")

    def handle(self) -> None:  # noqa: C901 - one branch per command, as the RFC lists them
        box = self.server.box  # type: ignore[attr-defined]
        self.send("* OK IMAP4rev1 test server ready")
        authed = False
        while True:
            line = self.rfile.readline()
            if not line:
                return
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            command, _, arguments = rest.partition(" ")
            command = command.upper()
            if command == "UID":
                sub, _, arguments = arguments.partition(" ")
                command = "UID " + sub.upper()
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
            elif command == "LOGIN":
                user, password = _args(arguments)[:2]
                if (user, password) != (box.user, box.password):
                    self.send(f"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials")
                    continue
                authed = True
                box.logins.append(user)
            elif command == "LOGOUT":
                self.send("* BYE")
                self.send(f"{tag} OK LOGOUT completed")
                return
            elif command == "NOOP":
                pass
            elif not authed:
                self.send(f"{tag} BAD log in first")
                continue
            elif command in ("SELECT", "EXAMINE"):
                with box.lock:
                    self.send(f"* {len(box.messages)} EXISTS")
                self.send("* 0 RECENT")
                self.send(r"* FLAGS (\Seen \Deleted)")
                self.send(f"* OK [UIDNEXT {box.next_uid}] next")
                self.send(f"{tag} OK [READ-WRITE] SELECT completed")
                continue
            elif command == "UID SEARCH":
                unseen = "UNSEEN" in arguments.upper()
                with box.lock:
                    uids = [
                        u for u in sorted(box.messages) if not (unseen and "\\Seen" in box.flags[u])
                    ]
                self.send("* SEARCH" + "".join(f" {u}" for u in uids))
            elif command == "UID FETCH":
                uid = int(arguments.split()[0])
                with box.lock:
                    raw = box.messages.get(uid)
                    seq = sorted(box.messages).index(uid) + 1 if raw is not None else 0
                    if raw is not None and "PEEK" not in arguments.upper():
                        box.flags[uid].add("\\Seen")
                if raw is not None:
                    self.send(f"* {seq} FETCH (UID {uid} BODY[] {{{len(raw)}}}".encode() + b"\r\n")
                    self.send(raw + b")\r\n")
            elif command == "UID STORE":
                uid_text, _op, flags = arguments.split(" ", 2)
                uid = int(uid_text)
                with box.lock:
                    if uid in box.flags:
                        box.flags[uid] |= set(flags.strip("()").split())
            elif command in ("EXPUNGE", "CLOSE"):
                with box.lock:
                    for uid in sorted(box.messages, reverse=True):
                        if "\\Deleted" in box.flags[uid]:
                            seq = sorted(box.messages).index(uid) + 1
                            del box.messages[uid]
                            del box.flags[uid]
                            if command == "EXPUNGE":
                                self.send(f"* {seq} EXPUNGE")
            else:
                self.send(f"{tag} BAD unknown command {command}")
                continue
            self.send(f"{tag} OK {command} completed")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, box: Mailbox) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.box = box
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
