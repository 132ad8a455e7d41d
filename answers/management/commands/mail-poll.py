"""``heeded mail-poll``: read the unseen messages of a maildir or an IMAP mailbox.

Each message goes through the same path as ``heeded mail-in`` and is then marked seen
(maildir flag S, IMAP \\Seen), so the next poll skips it; a message read twice is
recognised by its hash and counted once anyway. Prints one line per message.
"""

from __future__ import annotations

import mailbox
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from answers.services.inbound import inbound_receive


class Command(BaseCommand):
    help = "Read unseen e-mail answers from a maildir or an IMAP mailbox."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--maildir", type=Path, help="Path of a maildir.")
        source.add_argument(
            "--imap",
            help="imaps://user@host[:port]/FOLDER (or imap:// for STARTTLS-less loopback); "
            "the password comes from HEEDED_IMAP_PASSWORD or --password-file.",
        )
        parser.add_argument("--password-file", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["maildir"] is not None:
            counts = self._maildir(options["maildir"])
        else:
            counts = self._imap(options["imap"], options["password_file"])
        summary = ", ".join(f"{n} {name}" for name, n in sorted(counts.items())) or "none"
        self.stdout.write(f"read {sum(counts.values())} messages ({summary})")

    def _one(self, raw: bytes, counts: dict[str, int]) -> None:
        result = inbound_receive(raw=raw, now=timezone.now())
        counts[result.message.outcome] = counts.get(result.message.outcome, 0) + 1
        self.stdout.write(f"inbound {result.message.pk} {result.line}")

    def _maildir(self, path: Path) -> dict[str, int]:
        if not (path / "new").is_dir() or not (path / "cur").is_dir():
            raise CommandError(f"{path} is not a maildir (no new/ and cur/)")
        box = mailbox.Maildir(path, factory=None, create=False)
        counts: dict[str, int] = {}
        for key in sorted(box.keys()):
            message = box.get_message(key)
            if "S" in message.get_flags():
                continue
            with box.get_file(key) as handle:
                raw = handle.read()
            self._one(raw, counts)
            message.set_subdir("cur")
            message.add_flag("S")
            box[key] = message
        return counts

    def _imap(self, url: str, password_file: Path | None) -> dict[str, int]:
        from imapclient import IMAPClient

        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname or not parts.username:
            raise CommandError("--imap: use imaps://user@host[:port]/FOLDER")
        if password_file is not None:
            password = password_file.read_text(encoding="utf-8").strip()
        else:
            password = os.environ.get("HEEDED_IMAP_PASSWORD", "")
        if not password:
            raise CommandError("--imap: set HEEDED_IMAP_PASSWORD or pass --password-file")
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        counts: dict[str, int] = {}
        ssl = parts.scheme == "imaps"
        with IMAPClient(parts.hostname, port=parts.port or (993 if ssl else 143), ssl=ssl) as imap:
            imap.login(unquote(parts.username), password)
            imap.select_folder(folder)
            for uid in imap.search(["UNSEEN"]):
                fetched = imap.fetch([uid], ["BODY.PEEK[]"])
                self._one(fetched[uid][b"BODY[]"], counts)
                imap.add_flags([uid], [b"\\Seen"])
        return counts
