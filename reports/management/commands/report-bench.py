"""``heeded report-bench``: how long a QBR takes for a big client.

Builds a scratch client with ``--items`` recommendations spread over every status
(and a response for each decided one, inside the quarter), renders its QBR for that
quarter as HTML and as a PDF, prints the timings, and rolls everything back: the
database is left as it was. ``heeded bench --only report`` runs the same client at
two sizes in a throw-away database. Speed targets live here, never in unit tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from reports.bench import scratch_client, time_qbr, warm_up


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time a QBR (HTML and PDF) for a scratch client with many items; leaves no data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--items", type=int, default=500)
        parser.add_argument(
            "--output", default="", help="Keep the PDF in this file (and its HTML beside it)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with transaction.atomic():
                self._run(options["items"], options["output"])
                raise Rollback
        except Rollback:
            pass

    def _run(self, items: int, output: str) -> None:
        client, responses = scratch_client(items)
        warm_up()
        timing = time_qbr(client)
        if output:
            Path(output).write_bytes(timing.content)
            Path(output).with_suffix(".html").write_text(timing.document, encoding="utf-8")
        self.stdout.write(
            f"QBR of {items} items ({responses} responses, {timing.risk_items} open risk "
            f"items): figures {timing.figures:.2f} s, HTML {timing.html:.2f} s "
            f"({timing.html_bytes // 1024} KiB), PDF {timing.pdf:.2f} s "
            f"({timing.pdf_cpu:.2f} s of CPU, {timing.pdf_bytes // 1024} KiB, "
            f"{timing.pages} pages); "
            f"total {timing.total:.2f} s"
        )
