"""``heeded backup OUT``: one archive with the database, the stored evidence and a
manifest of hashes, counts, schema and ledger heads (see heeded/backup.py and
docs/operations.md). With ``--keep N``, OUT is a directory: the archive is named
after the time and all but the N newest archives there are deleted. Exit 0 written,
1 failed: then no archive is left, and one line on stderr says why."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from heeded.backup import BackupError, archive_name, create_backup, rotate
from lib.progress import Progress


class Command(BaseCommand):
    help = "Write a consistent backup archive of the database and the stored evidence."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("out", help="The archive to write (.tar.gz), or a directory.")
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help="OUT is a directory; keep only the newest N archives in it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        out = Path(options["out"])
        keep = options["keep"]
        if keep is not None and keep < 1:
            raise CommandError("--keep must be at least 1")
        if keep is not None or out.is_dir():
            if not out.is_dir():
                raise CommandError(f"{out} is not a directory")
            target = out / archive_name(now)
        else:
            target = out
        try:
            with Progress(self.stderr, "backup", unit="rows") as progress:
                manifest = create_backup(target, now=now, progress=progress)
        except BackupError as exc:
            self.stderr.write(f"heeded backup: failed, no archive written: {exc}")
            sys.exit(1)
        rows = sum(manifest["counts"].values())
        clients = len(manifest["ledger_heads"])
        self.stdout.write(f"wrote {target}: {rows} rows, {clients} ledger chains verified")
        if keep is not None:
            for path in rotate(out, keep):
                self.stdout.write(f"deleted {path}")
