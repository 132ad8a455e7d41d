"""``heeded report``: write a client's QBR as a PDF or HTML file.

The file is a delivery: the ledger head printed on it is recorded as an anchor and
the file is stored with its SHA-256 (``reports.services.report_deliver``). Bad input
(an unknown client, a malformed period, a missing folder) prints which argument is
wrong and why on standard error, and exits with status 2.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from clients.models import Client
from reports.periods import PeriodError, parse_period
from reports.services import report_deliver

EXIT_USAGE = 2
FORMATS = ("pdf", "html")


class UsageError(CommandError):
    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=EXIT_USAGE)


def resolve_client(reference: str) -> Client:
    """The client whose id, slug or name (case-insensitive) is ``reference``."""
    reference = reference.strip()
    if not reference:
        raise UsageError("--client: no client given")
    match = Q(slug=reference) | Q(name__iexact=reference)
    if reference.isdigit():
        match |= Q(pk=int(reference))
    found = list(Client.objects.filter(match)[:2])
    if not found:
        raise UsageError(f"--client: unknown client {reference!r} (give its id, slug or name)")
    if len(found) > 1:
        ids = ", ".join(str(client.pk) for client in found)
        raise UsageError(f"--client: {reference!r} is ambiguous (ids {ids}): give the id")
    return found[0]


class Command(BaseCommand):
    help = "Write a client's QBR report for a period as PDF or HTML, stored and anchored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--client", required=True, help="The client's id, slug or name.")
        parser.add_argument(
            "--period",
            required=True,
            help="2026-09 (a month), 2026-Q3 (a quarter) or 2026-07-01:2026-09-30.",
        )
        parser.add_argument("--format", required=True, help="pdf or html.")
        parser.add_argument("--output", required=True, help="The file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["format"].strip().lower()
        if fmt not in FORMATS:
            raise UsageError(f"--format: expected pdf or html, got {options['format']!r}")
        try:
            period = parse_period(options["period"])
        except PeriodError as exc:
            raise UsageError(f"--period: {exc}") from None
        output = Path(options["output"])
        if output.is_dir():
            raise UsageError(f"--output: {str(output)!r} is a folder, give a file name")
        if not output.parent.is_dir():
            raise UsageError(f"--output: folder {str(output.parent)!r} does not exist")
        client = resolve_client(options["client"])
        started = time.perf_counter()
        report = report_deliver(
            client=client, period=period, fmt=fmt, now=timezone.now(), actor=None, channel="cli"
        )
        output.write_bytes(bytes(report.content))
        self.stdout.write(
            f"wrote {output} ({report.size} bytes, {time.perf_counter() - started:.2f} s): "
            f"{client.name} {period.label}, sha256 {report.sha256}, "
            f"ledger anchor {client.slug}:{report.anchor.seq}:{report.anchor.hash}"
        )
