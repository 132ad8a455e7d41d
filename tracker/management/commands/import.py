"""``heeded import FILE``: bring a CSV or XLSX tracker sheet into Heeded.

Exit status: 0 every row was accepted, 1 a row was refused, 2 the file could not be
read (or the command was misused).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from accounts.models import User
from lib.progress import Progress
from tracker.columns import parse_mappings
from tracker.reader import UnreadableFile
from tracker.services import tracker_import


class Command(BaseCommand):
    help = "Import a CSV or XLSX tracker sheet (English or Italian headers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The .csv or .xlsx file.")
        parser.add_argument(
            "--as", dest="username", required=True, help="The staff user importing."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check every row; write nothing."
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the valid rows even if some are refused.",
        )
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="Add unknown clients and follow-up owners.",
        )
        parser.add_argument(
            "--sheet", default=None, help="The workbook sheet (default: the first)."
        )
        parser.add_argument(
            "--map",
            dest="mappings",
            action="append",
            default=[],
            metavar="HEADER=COLUMN",
            help='Name a column by hand, e.g. --map "Stato=response category" or '
            '--map "Note=ignore"; repeatable.',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            self.stderr.write(f"heeded import: no active user {options['username']!r}")
            sys.exit(2)
        try:
            mapping = parse_mappings(options["mappings"])
        except ValueError as exc:
            self.stderr.write(f"heeded import: {exc}")
            sys.exit(2)
        # On a terminal: rows done, rate and time left (on standard error, beside the
        # refusals); nothing when piped or logged.
        with Progress(self.stderr, "import") as progress:
            try:
                report = tracker_import(
                    source=options["file"],
                    actor=user,
                    now=timezone.now(),
                    dry_run=options["dry_run"],
                    skip_invalid=options["skip_invalid"],
                    create_missing=options["create_missing"],
                    sheet=options["sheet"],
                    mapping=mapping,
                    progress=progress.update,
                )
            except UnreadableFile as exc:
                progress.close()
                self.stderr.write(f"heeded import: {options['file']}: {exc}")
                sys.exit(2)
            except PermissionDenied as exc:
                progress.close()
                self.stderr.write(f"heeded import: {exc}")
                sys.exit(2)
        for note in report.notes:
            self.stdout.write(note)
        for row, line in report.defaults:
            self.stdout.write(f"row {row}: {line}")
        for error in report.errors:
            self.stderr.write(str(error))
        self.stdout.write(report.summary())
        sys.exit(0 if report.ok else 1)
