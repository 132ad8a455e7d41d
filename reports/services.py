"""Writes of the reports app: compliance snapshots and delivered reports."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterable
from typing import Literal

from django.db import transaction
from django.db.models import Count

from accounts.models import User
from accounts.permissions import Capability, require
from clients.models import Client
from ledger.models import Event
from ledger.services import anchor_record
from recommendations.models import Recommendation
from reports import render
from reports.models import ComplianceSnapshot, DeliveredReport
from reports.periods import Period
from reports.selectors import ACTIVE_STATUSES, compliance_score, qbr_for

REPORT_ANCHOR_PURPOSE = "qbr report"


def _snapshot(
    client_id: int, day: dt.date, counts: dict[tuple[str, str], int], now: dt.datetime
) -> ComplianceSnapshot:
    score, active = compliance_score(counts)
    by_status: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    for (status, severity), n in counts.items():
        if n:
            by_status[status] += n
            if status in ACTIVE_STATUSES:
                by_severity[severity] += n
    return ComplianceSnapshot(
        client_id=client_id,
        day=day,
        score=score,
        active=active,
        by_status=dict(sorted(by_status.items())),
        by_severity=dict(sorted(by_severity.items())),
        taken_at=now,
    )


def _save(snapshots: Iterable[ComplianceSnapshot]) -> int:
    rows = list(snapshots)
    # The unique (client, day) makes a second run on the same day rewrite that day's
    # row instead of adding one: the snapshot of a day is the last taken on it.
    ComplianceSnapshot.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["client", "day"],
        update_fields=["score", "active", "by_status", "by_severity", "taken_at"],
    )
    return len(rows)


def compliance_snapshot_take(*, now: dt.datetime, clients: Iterable[Client] | None = None) -> int:
    """Write today's snapshot (today in each client's time zone) of every client, or of
    ``clients``; return how many. Idempotent per client and day. Two queries plus
    one insert per 500 clients, whatever the number of recommendations."""
    chosen = list(clients) if clients is not None else list(Client.objects.all())
    counts: dict[int, dict[tuple[str, str], int]] = {c.pk: {} for c in chosen}
    for row in (
        Recommendation.objects.filter(client_id__in=list(counts))
        .order_by()
        .values("client_id", "status", "severity")
        .annotate(n=Count("id"))
    ):
        counts[row["client_id"]][(row["status"], row["severity"])] = row["n"]
    with transaction.atomic():
        return _save(
            _snapshot(c.pk, now.astimezone(c.tz).date(), counts[c.pk], now) for c in chosen
        )


def compliance_history_backfill(*, client: Client, now: dt.datetime) -> int:
    """Rebuild the client's daily snapshots from its ledger, from the day of its first
    recommendation event to yesterday (the client's calendar), and return how many.

    Each recommendation's status on a day is the ``to`` of its last ``recommendation.*``
    event up to the end of that day (``draft`` after ``recommendation.created``); the
    severity is the recommendation's. One pass over the client's events, in time
    order: the cost grows with the chain, not with days times recommendations.
    """
    tz = client.tz
    severity = dict(Recommendation.objects.filter(client=client).values_list("id", "severity"))
    today = now.astimezone(tz).date()
    status: dict[int, str] = {}
    counts: Counter[tuple[str, str]] = Counter()
    snapshots: list[ComplianceSnapshot] = []
    day: dt.date | None = None
    events = (
        Event.objects.filter(
            client=client,
            kind__startswith="recommendation.",
            at__lt=now,
            recommendation_id__isnull=False,
        )
        # In time order: an event recorded late for an earlier moment (an imported
        # history, a replay) counts on the day it says it happened.
        .order_by("at", "seq")
        .values_list("recommendation_id", "kind", "at", "data")
    )

    def close_days(until: dt.date) -> None:
        nonlocal day
        while day is not None and day < until and day < today:
            snapshots.append(_snapshot(client.pk, day, dict(counts), now))
            day += dt.timedelta(days=1)

    for rec_id, kind, at, data in events.iterator(chunk_size=2000):
        new = "draft" if kind == "recommendation.created" else (data or {}).get("to")
        if not new or rec_id not in severity:
            continue
        event_day = at.astimezone(tz).date()
        if day is None:
            day = event_day
        close_days(event_day)
        old = status.get(rec_id)
        if old is not None:
            counts[(old, severity[rec_id])] -= 1
        status[rec_id] = new
        counts[(new, severity[rec_id])] += 1
    close_days(today)
    with transaction.atomic():
        return _save(snapshots)


def report_deliver(
    *,
    client: Client,
    period: Period,
    fmt: Literal["pdf", "html"],
    now: dt.datetime,
    actor: User | None,
    channel: str,
) -> DeliveredReport:
    """Render the client's QBR, record the ledger head printed on it as an anchor, and
    store the file with its SHA-256. The head on the report is the anchor's: both are
    written in one transaction, so they cannot disagree; a failed render stores nothing."""
    require(actor, Capability.WRITE)
    with transaction.atomic():
        anchor = anchor_record(
            client=client,
            at=now,
            purpose=REPORT_ANCHOR_PURPOSE,
            reference=f"QBR {period.label} ({fmt}, {channel})",
        )
        qbr = qbr_for(client, period, now=now)
        qbr.head = type(qbr.head)(seq=anchor.seq, hash=anchor.hash)
        html = render.qbr_document(qbr)
        content = render.html_to_pdf(html) if fmt == "pdf" else html.encode("utf-8")
        return DeliveredReport.objects.create(
            client=client,
            kind="qbr",
            period_start=period.start,
            period_end=period.end,
            period_label=period.label,
            format=fmt,
            language=client.language,
            content=content,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            anchor=anchor,
            created_at=now,
            created_by=actor,
            channel=channel,
        )
