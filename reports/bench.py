"""A scratch client for the QBR benchmarks (``heeded bench --only report`` and
``heeded report-bench``), and the timing of one QBR.

The rows are inserted in bulk, not through the services: the reports only read them,
and replaying hundreds of histories would measure the lifecycle, not the report. The
callers throw the rows away (a temporary database, or a rolled-back transaction).
Speed targets live in the benchmarks, never in unit tests.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass

from clients.models import Client
from recommendations.models import Recommendation, Response
from reports import render
from reports.periods import parse_period
from reports.selectors import qbr_for

NOW = dt.datetime(2026, 9, 29, 9, 0, 0, 412_337, tzinfo=dt.UTC)
PERIOD = "2026-Q3"
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


def scratch_client(items: int, *, slug: str = "bench-dental") -> tuple[Client, int]:
    """A client with ``items`` recommendations spread over every status, and a response
    for each decided one; returns the client and the number of responses."""
    rng = random.Random(12)
    client = Client.objects.create(
        name=f"Bench Dental S.r.l. ({items})",
        slug=slug,
        created_at=NOW - dt.timedelta(days=400),
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
    return client, len(responses)


@dataclass
class QbrTiming:
    figures: float  # seconds
    html: float
    pdf: float
    pdf_cpu: float  # the process's CPU seconds for the PDF: less at the mercy of the load
    html_bytes: int
    pdf_bytes: int
    pages: int
    risk_items: int
    document: str
    content: bytes

    @property
    def total(self) -> float:
        return self.figures + self.html + self.pdf


def warm_up() -> None:
    """Render a one-line PDF, so the one-off start of WeasyPrint (Pango, fontconfig)
    is not counted against the first report measured."""
    render.html_to_pdf("<p>warm-up</p>")


def time_qbr(client: Client) -> QbrTiming:
    """Figures, HTML and PDF of the client's QBR of the bench quarter, timed."""
    period = parse_period(PERIOD)
    started = time.perf_counter()
    qbr = qbr_for(client, period, now=NOW)
    selected = time.perf_counter()
    html = render.qbr_document(qbr)
    rendered, cpu = time.perf_counter(), time.process_time()
    pdf, pages = render.pdf_with_pages(html)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    return QbrTiming(
        figures=selected - started,
        html=rendered - selected,
        pdf=done - rendered,
        pdf_cpu=cpu,
        html_bytes=len(html.encode()),
        pdf_bytes=len(pdf),
        pages=pages,
        risk_items=qbr.risk_total,
        document=html,
        content=pdf,
    )
