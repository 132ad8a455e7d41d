"""A minimal IMAP4rev1 server on 127.0.0.1 for the mail-poll tests: one user, one
folder, just the commands imapclient sends for login, select, search, fetch, store."""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class Mailbox:
    user: str
    password: str
    messages: list[bytes] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    commands: list[str] = field(default_factory=list)


class _Handler(socketserver.StreamRequestHandler):
    box: Mailbox

    def send(self, line: str | bytes) -> None:
        data = line if isinstance(line, bytes) else line.encode()
        self.wfile.write(data + b"\r\n")

    def handle(self) -> None:
        box = self.server.box  # type: ignore[attr-defined]
        self.send("* OK [CAPABILITY IMAP4rev1] test server ready")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            tag, _, rest = line.decode().rstrip("\r\n").partition(" ")
            command, _, args = rest.partition(" ")
            command = command.upper()
            if command == "UID":
                command, _, args = args.partition(" ")
                command = command.upper()
            box.commands.append(command)
            if command == "CAPABILITY":
                self.send("* CAPABILITY IMAP4rev1")
            elif command == "LOGIN":
                user, password = (a.strip('"') for a in args.split(" ", 1))
                if (user, password) != (box.user, box.password):
                    self.send(f"{tag} NO [AUTHENTICATIONFAILED] invalid credentials")
                    continue
            elif command == "SELECT":
                self.send(f"* {len(box.messages)} EXISTS")
                self.send("* 0 RECENT")
                self.send("* FLAGS (\\Seen)")
                self.send("* OK [UIDVALIDITY 1] ok")
                self.send(f"{tag} OK [READ-WRITE] SELECT completed")
                continue
            elif command == "SEARCH":
                unseen = [n for n in range(1, len(box.messages) + 1) if n not in box.seen]
                self.send("* SEARCH" + "".join(f" {n}" for n in unseen))
            elif command == "FETCH":
                uid = int(args.split(" ", 1)[0])
                body = box.messages[uid - 1]
                self.wfile.write(f"* {uid} FETCH (UID {uid} BODY[] {{{len(body)}}}\r\n".encode())
                self.wfile.write(body + b")\r\n")
            elif command == "STORE":
                uid = int(args.split(" ", 1)[0])
                box.seen.add(uid)
                self.send(f"* {uid} FETCH (UID {uid} FLAGS (\\Seen))")
            elif command == "LOGOUT":
                self.send("* BYE logging out")
                self.send(f"{tag} OK LOGOUT completed")
                return
            elif command in ("NOOP", "CLOSE"):
                pass
            else:
                self.send(f"{tag} BAD unknown command")
                continue
            self.send(f"{tag} OK {command} completed")


class ImapServer:
    def __init__(self, box: Mailbox) -> None:
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.box = box  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ImapServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
