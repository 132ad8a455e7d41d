"""``heeded msrc import FILE.xml [FILE.xml ...]``: load MSRC's monthly CVRF 1.1
documents (download from https://api.msrc.microsoft.com/cvrf/v3.0/cvrf/2026-Feb with
``Accept: application/xml``). Importing the same file again changes nothing; several
months build the supersedence chains. Exit 2 when a file is unreadable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from verification.msrc import MsrcError, msrc_import


class Command(BaseCommand):
    help = "Import MSRC security-update documents (CVRF 1.1 XML)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        imp = sub.add_parser("import", help="import one or more CVRF XML files")
        imp.add_argument("files", nargs="+")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in options["files"]:
            path = Path(name)
            try:
                result = msrc_import(data=path.read_bytes(), now=timezone.now())
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}", returncode=2) from None
            except MsrcError as exc:
                raise CommandError(f"{path}: {exc.message}", returncode=2) from None
            state = "unchanged" if result.unchanged else "imported"
            self.stdout.write(
                f"{result.document_id}: {state}: {result.cves} CVEs, {result.products} products, "
                f"{result.fixes} fixes"
            )
