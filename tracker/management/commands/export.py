"""``heeded export FILE``: write the tracker sheet (CSV or XLSX, English or Italian)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from accounts.models import User
from clients.models import Client
from tracker.export import FORMATS, LANGUAGES, export_rows, write_csv, write_xlsx


class Command(BaseCommand):
    help = "Export recommendations as a tracker sheet that 'heeded import' reads back."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Where to write; the extension picks the format.")
        parser.add_argument("--format", choices=FORMATS, default=None)
        parser.add_argument("--language", choices=LANGUAGES, default="en")
        parser.add_argument("--client", default=None, help="Only this client (name, slug or id).")
        parser.add_argument(
            "--as", dest="username", default=None, help="Export what this user may see."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        fmt = options["format"] or ("xlsx" if path.suffix.lower() == ".xlsx" else "csv")
        user = None
        if options["username"]:
            user = User.objects.filter(username=options["username"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {options['username']!r}")
        client_id = None
        if options["client"]:
            wanted = options["client"]
            match = Q(name__iexact=wanted) | Q(slug=wanted)
            if wanted.isdigit():
                match |= Q(pk=int(wanted))
            client = Client.objects.filter(match).first()
            if client is None:
                raise CommandError(f"no client {wanted!r}")
            client_id = client.pk
        rows = export_rows(user, language=options["language"], client_id=client_id)
        writer = write_xlsx if fmt == "xlsx" else write_csv
        with path.open("wb") as out:
            count = writer(out, rows, language=options["language"])
        self.stdout.write(f"exported {count} recommendations to {path}")
