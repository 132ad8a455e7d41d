"""The weekly digest: one e-mail per follow-up owner listing their overdue items and
their open tickets with no update for N days (the seed's "weekly check of ticket
logs"). Queued in the outbox once per owner and ISO week, whatever the number of
runs: the idempotency key names the owner and the week."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from django.db import transaction
from django.utils import translation

from accounts.models import User
from followup.models import OutboxMessage, Ticket, TicketStatus
from followup.services.outbox import outbox_enqueue_email
from recommendations import mail
from recommendations.deadlines import SEVERITY_ORDER
from recommendations.models import Recommendation
from recommendations.selectors import overdue_q

STALE_DAYS = 7


@dataclasses.dataclass
class Digest:
    owner: User
    overdue: list[Recommendation] = dataclasses.field(default_factory=list)
    stale: list[Ticket] = dataclasses.field(default_factory=list)


def digests_at(now: dt.datetime, *, stale_days: int = STALE_DAYS) -> list[Digest]:
    """What each active owner's digest lists at ``now`` (owners with nothing to list
    get none), in username order. Two queries, however many owners."""
    by_owner: dict[int, Digest] = {}
    overdue = (
        Recommendation.objects.filter(overdue_q(now), owner__is_active=True)
        .select_related("owner", "client")
        .order_by("response_due_at", "planned_for", "id")
    )
    for rec in overdue:
        assert rec.owner is not None
        by_owner.setdefault(rec.owner_id, Digest(rec.owner)).overdue.append(rec)
    stale = (
        Ticket.objects.exclude(status=TicketStatus.CLOSED)
        .filter(assignee__is_active=True, updated_at__lt=now - dt.timedelta(days=stale_days))
        .select_related("assignee", "client")
        .order_by("updated_at", "id")
    )
    for ticket in stale:
        assert ticket.assignee is not None
        by_owner.setdefault(ticket.assignee_id, Digest(ticket.assignee)).stale.append(ticket)
    for digest in by_owner.values():
        digest.overdue.sort(key=lambda r: (SEVERITY_ORDER.get(r.severity, 9), r.pk))
    return sorted(by_owner.values(), key=lambda d: d.owner.get_username())


def digest_enqueue(*, now: dt.datetime, stale_days: int = STALE_DAYS) -> list[OutboxMessage]:
    """Queue this week's digest for every owner with something to list."""
    year, week, _ = now.astimezone(dt.UTC).isocalendar()
    messages = []
    counts: dict[str, int] = defaultdict(int)
    with transaction.atomic():
        for digest in digests_at(now, stale_days=stale_days):
            if not digest.owner.email:
                continue
            counts["owners"] += 1
            language = mail.staff_language(digest.owner)
            with translation.override(language):
                overdue = [
                    {
                        "rec": rec,
                        "severity": mail.severity_label(rec.severity),
                        "severity_colour": mail.severity_colour(rec.severity),
                        "status": mail.status_label(rec.status),
                    }
                    for rec in digest.overdue
                ]
            email = mail.render_email(
                "followup_digest",
                {"digest": digest, "overdue": overdue, "stale_days": stale_days, "now": now},
                language=language,
            )
            messages.append(
                outbox_enqueue_email(
                    key=f"digest:{digest.owner.pk}:{year}-W{week:02d}",
                    to=[digest.owner.email],
                    subject=email.subject,
                    text=email.text,
                    html=email.html,
                    now=now,
                )
            )
    return messages
