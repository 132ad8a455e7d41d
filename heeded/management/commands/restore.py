"""``heeded restore IN``: load a backup archive into an empty, migrated database,
then verify the ledger and compare counts and heads with the archive's manifest.
Any failure leaves the database as it was. Exit 0 restored, 1 refused."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from heeded.backup import BackupError, restore_archive


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database and verify it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive", help="The archive 'heeded backup' wrote.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = restore_archive(Path(options["archive"]))
        except BackupError as exc:
            self.stderr.write(f"heeded restore: refused: {exc}")
            sys.exit(1)
        rows = sum(result.counts.values())
        self.stdout.write(
            f"restored {rows} rows, {len(result.heads)} ledger chains verified, "
            f"{result.evidence_files} evidence files"
        )
