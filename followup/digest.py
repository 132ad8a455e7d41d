"""The weekly digest: what each follow-up owner is sent once an ISO week — their
overdue items and their open tickets with no update for N days (the seed's "weekly
check of ticket logs").

The digest is never an e-mail of its own beside the daily staff notice: a person gets
at most one e-mail a day. ``heeded digest`` (cron, weekly) opens the week's digest —
a ``JobRun`` row named ``digest`` for the ISO week, its summary holding the stale
threshold — and the sweep's notify phase (``followup.sweep``) does the sending: an
owner with notice items that day gets the digest inside that day's notice, an owner
with nothing else gets the digest alone under the same daily key, and an owner already
told today gets it in the next day's e-mail. A message carrying the digest names the
week in its ``X-Heeded-Digest`` header, which is how a later pass knows who has had it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.utils import timezone

from accounts.models import User
from followup.models import JobRun, OutboxMessage, Ticket, TicketStatus
from recommendations import mail
from recommendations.deadlines import SEVERITY_ORDER
from recommendations.models import Recommendation
from recommendations.selectors import overdue_q

STALE_DAYS = 7
DIGEST_JOB = "digest"
DIGEST_HEADER = "X-Heeded-Digest"
STAFF_KEY_PREFIX = "followup:staff:"


@dataclasses.dataclass
class Digest:
    owner: User
    overdue: list[Recommendation] = dataclasses.field(default_factory=list)
    stale: list[Ticket] = dataclasses.field(default_factory=list)
    stale_days: int = STALE_DAYS
    week: str = ""


def week_of(now: dt.datetime) -> str:
    """The ISO week of ``now`` in the MSP's time zone, e.g. ``2026-W10``."""
    year, week, _ = now.astimezone(timezone.get_default_timezone()).isocalendar()
    return f"{year}-W{week:02d}"


def _week_start(now: dt.datetime) -> dt.datetime:
    local = now.astimezone(timezone.get_default_timezone())
    monday = local.date() - dt.timedelta(days=local.weekday())
    return dt.datetime.combine(monday, dt.time(), tzinfo=local.tzinfo)


def digests_at(now: dt.datetime, *, stale_days: int = STALE_DAYS) -> list[Digest]:
    """What each active owner's digest lists at ``now`` (owners with nothing to list
    get none), in username order. Two queries, however many owners."""
    week = week_of(now)
    by_owner: dict[int, Digest] = {}

    def digest_of(user: User) -> Digest:
        return by_owner.setdefault(user.pk, Digest(user, stale_days=stale_days, week=week))

    overdue = (
        Recommendation.objects.filter(overdue_q(now), owner__is_active=True)
        .select_related("owner", "client")
        .order_by("response_due_at", "planned_for", "id")
    )
    for rec in overdue:
        assert rec.owner is not None
        digest_of(rec.owner).overdue.append(rec)
    stale = (
        Ticket.objects.exclude(status=TicketStatus.CLOSED)
        .filter(assignee__is_active=True, updated_at__lt=now - dt.timedelta(days=stale_days))
        .select_related("assignee", "client")
        .order_by("updated_at", "id")
    )
    for ticket in stale:
        assert ticket.assignee is not None
        digest_of(ticket.assignee).stale.append(ticket)
    for digest in by_owner.values():
        digest.overdue.sort(key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), r.pk))
    return sorted(by_owner.values(), key=lambda d: d.owner.get_username())


def digest_open(*, now: dt.datetime, stale_days: int = STALE_DAYS) -> JobRun:
    """Open this week's digest (idempotent: the first run of the week fixes the stale
    threshold)."""
    run, _ = JobRun.objects.get_or_create(
        job=DIGEST_JOB,
        period=week_of(now),
        defaults={
            "claimed_by": "heeded digest",
            "started_at": now,
            "lease_until": now,
            "summary": str(stale_days),
        },
    )
    return run


def digests_owed(now: dt.datetime) -> tuple[JobRun | None, dict[int, Digest]]:
    """This week's open digest run (None when ``heeded digest`` has not opened one
    or every owner has had it) and the digests still to send, by user id: owners with
    something to list and an address, who have had no message carrying this week's
    digest. One query when there is no open run."""
    run = JobRun.objects.filter(
        job=DIGEST_JOB, period=week_of(now), finished_at__isnull=True, started_at__lte=now
    ).first()
    if run is None:
        return None, {}
    stale_days = int(run.summary) if run.summary.isdigit() else STALE_DAYS
    had = {
        int(key[len(STAFF_KEY_PREFIX) :].split(":", 1)[0])
        for key in OutboxMessage.objects.filter(
            idempotency_key__startswith=STAFF_KEY_PREFIX,
            created_at__gte=_week_start(now),
            **{f"payload__headers__{DIGEST_HEADER}": run.period},
        ).values_list("idempotency_key", flat=True)
    }
    owed = {
        d.owner.pk: d
        for d in digests_at(now, stale_days=stale_days)
        if d.owner.email and d.owner.pk not in had
    }
    return run, owed


def digest_close(run: JobRun, *, now: dt.datetime) -> None:
    """Every owner has had this week's digest: later sweeps skip it with one query."""
    JobRun.objects.filter(pk=run.pk, finished_at__isnull=True).update(
        finished_at=now, claimed_by="sweep"
    )


def digest_context(digest: Digest) -> dict[str, Any]:
    """What the templates need of a digest, in the active language."""
    return {
        "digest": digest,
        "overdue": [
            {
                "rec": rec,
                "severity": mail.severity_label(rec.severity),
                "severity_colour": mail.severity_colour(rec.severity),
                "status": mail.status_label(rec.status),
            }
            for rec in digest.overdue
        ],
        "stale_days": digest.stale_days,
    }
