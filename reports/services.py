"""Writes of the reports app: compliance snapshots and delivered reports."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import User
from accounts.permissions import Capability, require
from clients.models import Client, Contact
from followup.services import outbox_enqueue_email
from ledger.actors import actor_label
from ledger.models import Event
from ledger.services import anchor_record, event_append
from lib.errors import ServiceError
from recommendations import mail
from recommendations.models import Recommendation
from reports import render
from reports.evidence import evidence_pack_build
from reports.models import ComplianceSnapshot, DeliveredReport, ReportKind, ReportSchedule
from reports.periods import Period, parse_period
from reports.selectors import ACTIVE_STATUSES, compliance_score, qbr_for

REPORT_ANCHOR_PURPOSE = "qbr report"
log = logging.getLogger("heeded.reports")


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


def _store(
    *,
    client: Client,
    period: Period,
    fmt: Literal["pdf", "html"],
    kind: str,
    now: dt.datetime,
    actor: User | None,
    channel: str,
    schedule_key: str | None = None,
) -> DeliveredReport:
    """Anchor the head, render with it, store the bytes and their hash (in the
    caller's transaction, or one of its own)."""
    with transaction.atomic():
        label = "QBR" if kind == ReportKind.QBR else "open risks"
        anchor = anchor_record(
            client=client,
            at=now,
            purpose=REPORT_ANCHOR_PURPOSE,
            reference=f"{label} {period.label} ({fmt}, {channel})",
        )
        qbr = qbr_for(client, period, now=now)
        qbr.head = type(qbr.head)(seq=anchor.seq, hash=anchor.hash)
        html = render.qbr_document(qbr, only_risks=kind == ReportKind.OPEN_RISKS)
        content = render.html_to_pdf(html) if fmt == "pdf" else html.encode("utf-8")
        return DeliveredReport.objects.create(
            client=client,
            kind=kind,
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
            schedule_key=schedule_key,
        )


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
    return _store(
        client=client,
        period=period,
        fmt=fmt,
        kind=ReportKind.QBR,
        now=now,
        actor=actor,
        channel=channel,
    )


# --- scheduled delivery ---------------------------------------------------------------


class ScheduleMsg:
    FOREIGN_CONTACT = "Contact {pk} is not a contact of this client."
    NO_RECIPIENT = (
        "Choose at least one contact or the account owner to receive the scheduled reports."
    )


def report_schedule_set(
    *,
    client: Client,
    monthly: bool,
    quarterly: bool,
    open_risks: bool,
    contact_ids: Iterable[int],
    to_account_owner: bool,
    actor: User,
    now: dt.datetime,
) -> ReportSchedule:
    """Set which reports the worker e-mails the client, and to whom. Only periods that
    end on or after the day a schedule is first set are ever sent."""
    require(actor, Capability.WRITE)
    wanted = sorted(set(contact_ids))
    contacts = list(Contact.objects.filter(client=client, pk__in=wanted))
    found = {c.pk for c in contacts}
    for pk in wanted:
        if pk not in found:
            raise ServiceError(ScheduleMsg.FOREIGN_CONTACT.format(pk=pk), field="contacts")
    if (monthly or quarterly or open_risks) and not contacts and not to_account_owner:
        raise ServiceError(ScheduleMsg.NO_RECIPIENT, field="contacts")
    with transaction.atomic():
        schedule, created = ReportSchedule.objects.select_for_update().get_or_create(
            client=client,
            defaults={"starts_on": now.astimezone(client.tz).date(), "updated_at": now},
        )
        before = _schedule_data(schedule) if not created else None
        schedule.monthly, schedule.quarterly = monthly, quarterly
        schedule.open_risks, schedule.to_account_owner = open_risks, to_account_owner
        schedule.updated_at, schedule.updated_by = now, actor
        schedule.save()
        schedule.contacts.set(contacts)
        event_append(
            client=client,
            kind="report.schedule_set",
            actor=actor_label(actor),
            at=now,
            data={"before": before, "after": _schedule_data(schedule)},
        )
    return schedule


def _schedule_data(schedule: ReportSchedule) -> dict[str, object]:
    return {
        "monthly": schedule.monthly,
        "quarterly": schedule.quarterly,
        "open_risks": schedule.open_risks,
        "to_account_owner": schedule.to_account_owner,
        "contacts": sorted(schedule.contacts.values_list("pk", flat=True)),
    }


def _due_periods(schedule: ReportSchedule, today: dt.date) -> list[tuple[str, Period]]:
    """The (kind, period) pairs the schedule owes on ``today``: the last complete
    month and quarter, if they end on or after the schedule's first day."""
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    month = parse_period(f"{last_month_end.year}-{last_month_end.month:02d}")
    quarter_start_month = 3 * ((today.month - 1) // 3) + 1
    last_quarter_end = today.replace(month=quarter_start_month, day=1) - dt.timedelta(days=1)
    quarter = parse_period(f"{last_quarter_end.year}-Q{(last_quarter_end.month - 1) // 3 + 1}")
    due: list[tuple[str, Period]] = []
    if schedule.monthly:
        due.append((ReportKind.QBR, month))
    if schedule.quarterly:
        due.append((ReportKind.QBR, quarter))
    if schedule.open_risks:
        due.append((ReportKind.OPEN_RISKS, month))
    return [(kind, period) for kind, period in due if period.end >= schedule.starts_on]


def schedule_key(client: Client, kind: str, period: Period) -> str:
    return f"report:{kind}:{client.pk}:{period.label}"


def scheduled_reports_deliver(*, now: dt.datetime) -> list[DeliveredReport]:
    """Render, store and queue for e-mail every scheduled report now due; return the
    new ones. Each (client, kind, period) is done once, in one transaction with its
    e-mail: a run killed half-way leaves no report without its e-mail, and the next
    run does only what is missing."""
    delivered: list[DeliveredReport] = []
    schedules = (
        ReportSchedule.objects.filter(Q(monthly=True) | Q(quarterly=True) | Q(open_risks=True))
        .select_related("client", "client__account_owner")
        .prefetch_related("contacts")
        .order_by("client_id")
    )
    for schedule in schedules:
        client = schedule.client
        due = _due_periods(schedule, now.astimezone(client.tz).date())
        keys = {schedule_key(client, kind, period): (kind, period) for kind, period in due}
        done = set(
            DeliveredReport.objects.filter(schedule_key__in=list(keys)).values_list(
                "schedule_key", flat=True
            )
        )
        for key, (kind, period) in keys.items():
            if key in done:
                continue
            try:
                with transaction.atomic():
                    report = _store(
                        client=client,
                        period=period,
                        fmt="pdf",
                        kind=kind,
                        now=now,
                        actor=None,
                        channel="schedule",
                        schedule_key=key,
                    )
                    _queue_email(schedule, report, key=key, now=now)
            except IntegrityError:
                # Another worker stored this one meanwhile (its key is taken).
                continue
            except DatabaseError:
                raise
            except Exception:
                # One client's report that cannot be rendered must not hold back the
                # others; it is tried again at the next run (nothing of it was stored).
                log.exception("scheduled report %s failed", key)
                continue
            delivered.append(report)
    return delivered


def _recipients(schedule: ReportSchedule) -> list[str]:
    seen: dict[str, str] = {}
    for contact in schedule.contacts.all():
        seen.setdefault(contact.email.lower(), contact.email)
    owner = schedule.client.account_owner
    if schedule.to_account_owner and owner is not None and owner.email:
        seen.setdefault(owner.email.lower(), owner.email)
    return list(seen.values())


def _queue_email(
    schedule: ReportSchedule, report: DeliveredReport, *, key: str, now: dt.datetime
) -> None:
    to = _recipients(schedule)
    if not to:
        return
    client = schedule.client
    language = mail.language_for(client)
    with translation.override(language):
        what = (
            gettext("Open risks report")
            if report.kind == ReportKind.OPEN_RISKS
            else gettext("Security review")
        )
    # The head the report states is the anchor recorded when it was stored.
    head = mail.Head(
        seq=report.anchor.seq,
        hash=report.anchor.hash,
        verify_command=mail.verify_command(client, report.anchor.seq, report.anchor.hash),
    )
    email = mail.render_email(
        "report_delivery",
        {
            "client": client,
            "what": what,
            "period": report.period_label,
            "filename": report.filename,
            "sha256": report.sha256,
            "head": head,
            "portal_url": f"{settings.HEEDED_BASE_URL}/portal/sign-in/",
        },
        language=language,
    )
    outbox_enqueue_email(
        key=key,
        to=to,
        subject=email.subject,
        text=email.text,
        html=email.html,
        now=now,
        client=client,
        attachments=[{"source": REPORT_ATTACHMENT, "id": report.pk}],
    )


REPORT_ATTACHMENT = "delivered_report"


def delivered_report_attachment(ref: dict[str, Any]) -> tuple[str, bytes, str]:
    """The outbox's view of a stored report: its exact bytes, never re-rendered."""
    pk = ref.get("id")
    report = DeliveredReport.objects.filter(pk=pk).first() if isinstance(pk, int) else None
    if report is None:
        raise LookupError(ref)
    mimetype = "application/pdf" if report.format == "pdf" else "text/html"
    return report.filename, bytes(report.content), mimetype


# --- evidence pack download -----------------------------------------------------------


class EvidenceMsg:
    FOREIGN_RECOMMENDATION = "Recommendation {value} is not one of this client's."


EVIDENCE_EXPORT_EVENT = "evidence_pack.exported"


def evidence_pack_export(
    *,
    client: Client,
    actor: User,
    now: dt.datetime,
    recommendation_id: int | None = None,
    channel: str = "web",
) -> tuple[bytes, int]:
    """Build the client's evidence pack for a staff download: who took it is a ledger
    event of the chain the pack carries (and its head an anchor). Returns the zip and
    the anchored head's sequence number."""
    require(actor, Capability.WRITE)
    if (
        recommendation_id is not None
        and not Recommendation.objects.filter(pk=recommendation_id, client=client).exists()
    ):
        raise ServiceError(
            EvidenceMsg.FOREIGN_RECOMMENDATION.format(value=recommendation_id),
            field="recommendation",
        )
    with transaction.atomic():
        event_append(
            client=client,
            kind=EVIDENCE_EXPORT_EVENT,
            actor=actor_label(actor),
            at=now,
            recommendation_id=recommendation_id,
            data={"channel": channel, "recommendation": recommendation_id},
        )
        data, anchor = evidence_pack_build(
            client=client, now=now, recommendation_id=recommendation_id
        )
    return data, anchor.seq
