"""``heeded restore IN``: load a backup archive into an empty database migrated to the
archive's schema, then verify the ledger and compare counts and heads with the
archive's manifest. Any failure leaves the database as it was.

``heeded restore --check IN`` loads nothing: it checks the member hashes, reads every
row, recomputes the ledger chains from the archived rows and compares the counts and
heads with the manifest. Exit 0 restored (or sound), 1 refused; the reason is one
line on stderr."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from heeded.backup import BackupError, check_archive, restore_archive
from lib.progress import Progress


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database and verify it (or --check it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="The archive 'heeded backup' wrote.")
        parser.add_argument(
            "--check",
            action="store_true",
            help="Verify the archive without loading it; the database is not touched.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        archive = Path(options["archive"])
        if options["check"]:
            try:
                result = check_archive(archive)
            except BackupError as exc:
                self.stderr.write(f"heeded restore: check failed: {exc}")
                sys.exit(1)
            rows = sum(result.counts.values())
            self.stdout.write(
                f"ok: {archive} (format version {result.version}, written "
                f"{result.created_at}): {rows} rows in {len(result.counts)} tables, "
                f"{result.evidence_files} evidence files; ledger {result.ledger}; "
                f"{len(result.heads)} heads match the manifest"
            )
            return
        try:
            with Progress(self.stderr, "restore", unit="rows") as progress:
                result = restore_archive(archive, progress=progress)
        except BackupError as exc:
            self.stderr.write(f"heeded restore: refused: {exc}")
            sys.exit(1)
        except DatabaseError as exc:
            # Raised before the restore's transaction, e.g. the server is unreachable.
            reason = " ".join(str(exc).split())
            self.stderr.write(f"heeded restore: refused: the database cannot be used: {reason}")
            sys.exit(1)
        rows = sum(result.counts.values())
        self.stdout.write(
            f"restored {rows} rows, {len(result.heads)} ledger chains verified "
            f"({result.ledger}), {result.evidence_files} evidence files"
        )
