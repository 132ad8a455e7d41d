"""``heeded report-bench``: how long a QBR takes for a big client.

Builds a scratch client with ``--items`` recommendations spread over every status
(and a response for each decided one, inside the quarter), renders its QBR for that
quarter as HTML and as a PDF, prints the timings, and rolls everything back: the
database is left as it was. The rows are inserted in bulk, not through the services:
the reports only read them, and replaying 500 histories would measure the lifecycle,
not the report. Speed targets live here, never in unit tests.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from clients.models import Client
from recommendations.models import Recommendation, Response
from reports import render
from reports.periods import parse_period
from reports.selectors import qbr_for

NOW = dt.datetime(2026, 9, 29, 9, 0, tzinfo=dt.UTC)
STATUSES = [
    ("verified", 20),
    ("implemented", 10),
    ("accepted", 12),
    ("in_progress", 8),
    ("deferred", 14),
    ("rejected", 12),
    ("ignored", 6),
    ("awaiting_response", 14),
    ("withdrawn", 4),
]
DECISION = {
    "verified": "accepted",
    "implemented": "accepted",
    "accepted": "accepted",
    "in_progress": "accepted",
    "deferred": "deferred",
    "rejected": "rejected",
}


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
        rng = random.Random(12)
        client = Client.objects.create(
            name="Bench Dental S.r.l.", slug="bench-dental", created_at=NOW - dt.timedelta(days=400)
        )
        statuses = [s for s, weight in STATUSES for _ in range(weight)]
        recs = []
        for i in range(items):
            status = statuses[i % len(statuses)]
            thing = rng.choice(["VPN", "mail", "backup", "Wi-Fi"])
            presented = NOW - dt.timedelta(days=rng.randint(5, 360), seconds=rng.randint(0, 86399))
            decided = presented + dt.timedelta(days=rng.randint(1, 20))
            recs.append(
                Recommendation(
                    client=client,
                    title=f"Recommendation nº {i + 1}: harden the l'Aquila site's {thing}",
                    body="Bench item.",
                    text_sha256="0" * 64,
                    severity=rng.choice(["critical", "high", "medium", "low"]),
                    status=status,
                    created_at=presented - dt.timedelta(hours=1),
                    presented_at=presented,
                    response_due_at=presented + dt.timedelta(days=14),
                    decided_at=decided if status in DECISION or status == "ignored" else None,
                    planned_for=(decided + dt.timedelta(days=rng.randint(10, 120))).date()
                    if DECISION.get(status) == "accepted"
                    else None,
                    deferred_until=(NOW + dt.timedelta(days=rng.randint(5, 150))).date()
                    if status == "deferred"
                    else None,
                    updated_at=decided,
                )
            )
        Recommendation.objects.bulk_create(recs, batch_size=500)
        responses = [
            Response(
                recommendation=rec,
                decision=DECISION[rec.status],
                justification="Budget approvato dal CdA; we'll revisit in Q4." * 2,
                planned_for=rec.planned_for,
                deferred_until=rec.deferred_until,
                responder_name="Dario D'Alessandro",
                channel=rng.choice(["signed_link", "portal", "email", "phone"]),
                shown_text_sha256="0" * 64,
                recorded_at=rec.decided_at,
                ledger_seq=0,
            )
            for rec in recs
            if rec.status in DECISION and rec.decided_at
        ]
        Response.objects.bulk_create(responses, batch_size=500)
        period = parse_period("2026-Q3")
        started = time.perf_counter()
        qbr = qbr_for(client, period, now=NOW)
        selected = time.perf_counter()
        html = render.qbr_document(qbr)
        rendered = time.perf_counter()
        pdf = render.html_to_pdf(html)
        done = time.perf_counter()
        if output:
            Path(output).write_bytes(pdf)
            Path(output).with_suffix(".html").write_text(html, encoding="utf-8")
        pages = pdf.count(b"/Type /Page\n") or pdf.count(b"/Type/Page")
        self.stdout.write(
            f"QBR of {items} items ({len(responses)} responses, {qbr.risk_total} open risk "
            f"items): figures {selected - started:.2f} s, HTML {rendered - selected:.2f} s "
            f"({len(html) // 1024} KiB), PDF {done - rendered:.2f} s ({len(pdf) // 1024} KiB"
            f"{f', {pages} pages' if pages else ''}); total {done - started:.2f} s"
        )
