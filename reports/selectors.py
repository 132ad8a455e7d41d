"""Reads for reports: the QBR figures of one client over one period, and the portfolio.

Every figure is a pure computation over the client's recommendation, response,
follow-up step and snapshot rows: each function reads a fixed number of queries,
whatever the number of rows, and its cost grows with the rows of that client (and
period), never with the whole database. Definitions: docs/reports.md.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Min, Q
from django.http import Http404

from accounts.models import User
from catalog.choices import SEVERITY_ORDER, Severity
from clients.models import Client, Contact
from clients.selectors import client_get_for, client_list_for
from followup.models import FollowupStep
from ledger.models import Event
from ledger.selectors import HeadView, head_for
from recommendations.choices import Decision, Status
from recommendations.models import Recommendation, Response
from recommendations.selectors import overdue_q
from reports.models import ComplianceSnapshot, DeliveredReport, ReportSchedule
from reports.periods import Period
from reports.trends import Trend, trends_for

# A critical item weighs as much as eight low ones in the compliance score.
SEVERITY_WEIGHTS: dict[str, int] = {
    Severity.CRITICAL: 8,
    Severity.HIGH: 4,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
}
# Presented and not withdrawn: the recommendations a client is answerable for.
ACTIVE_STATUSES = frozenset(
    {
        Status.AWAITING_RESPONSE,
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.DEFERRED,
        Status.REJECTED,
        Status.IGNORED,
        Status.IMPLEMENTED,
        Status.VERIFIED,
    }
)
DONE_STATUSES = frozenset({Status.IMPLEMENTED, Status.VERIFIED})
ADOPTED_STATUSES = frozenset({Status.ACCEPTED, Status.IN_PROGRESS, *DONE_STATUSES})
DECIDED_STATUSES = frozenset({*ADOPTED_STATUSES, Status.DEFERRED, Status.REJECTED, Status.IGNORED})
IGNORED = "ignored"

# Open risk items by why they are open, in the order a report lists them.
RISK_REASONS = ("overdue", "rejected", "ignored", "deferred", "accepted_not_applied")
# Age buckets (days since presented): upper bound exclusive, None = no bound.
AGE_BUCKETS: tuple[tuple[str, int | None], ...] = (
    ("0-30", 30),
    ("30-90", 90),
    ("90-180", 180),
    ("180+", None),
)
UPCOMING_DAYS = 90


def ratio(part: int, whole: int) -> Decimal | None:
    """``part`` ÷ ``whole`` as a percent with one decimal (half up); None when ``whole`` is 0."""
    if whole == 0:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def compliance_score(counts: dict[tuple[str, str], int]) -> tuple[Decimal | None, int]:
    """(score, active count) from {(status, severity): n}: the severity-weighted share of
    active recommendations that are implemented or verified, as a percent."""
    done = total = active = 0
    for (status, severity), n in counts.items():
        if status not in ACTIVE_STATUSES:
            continue
        weight = SEVERITY_WEIGHTS.get(severity, 1)
        active += n
        total += weight * n
        if status in DONE_STATUSES:
            done += weight * n
    return ratio(done, total), active


@dataclass
class RiskItem:
    rec: Recommendation
    reason: str
    age_days: int
    bucket: str
    since: dt.date | None
    date: dt.date | None  # the deferral, planned or due date that matters for this reason


@dataclass
class RiskGroup:
    severity: str
    label: str
    buckets: list[tuple[str, list[RiskItem]]]

    @property
    def count(self) -> int:
        return sum(len(items) for _, items in self.buckets)


@dataclass
class Decided:
    rec_id: int
    decision: str  # accepted, deferred, rejected or ignored
    at: dt.datetime


@dataclass
class Qbr:
    client: Client
    period: Period
    now: dt.datetime
    since: dt.datetime
    until: dt.datetime
    status_counts: dict[str, int]
    severity_counts: dict[str, int]
    decided: dict[str, int]
    adoption_rate: Decimal | None
    implementation_rate: Decimal | None
    implemented_of_accepted: tuple[int, int]
    presented: int
    responded: int
    response_rate: Decimal | None
    median_days_to_decision: Decimal | None
    compliance: Decimal | None
    active: int
    risk_groups: list[RiskGroup]
    risk_counts: dict[str, int]
    awaiting: list[Recommendation]
    decisions: list[tuple[dt.date, list[Response]]]
    ignored_in_period: list[Recommendation]
    upcoming: list[tuple[dt.date, str, Recommendation]]
    escalations: list[FollowupStep]
    history: list[ComplianceSnapshot]
    head: HeadView
    stored: list[DeliveredReport] = field(default_factory=list)
    # Other capabilities' daily series over the same days as ``history`` (trends.py).
    trends: list[Trend] = field(default_factory=list)

    @property
    def risk_total(self) -> int:
        return sum(self.risk_counts.values())


def report_client_get_for(user: User | AnonymousUser, pk: int | str) -> Client:
    """The client a user may report on, or Http404."""
    return client_get_for(user, pk)


def delivered_list_for(user: User | AnonymousUser, client: Client) -> list[DeliveredReport]:
    """Stored reports of the client, newest first, without their bytes."""
    client = client_get_for(user, client.pk)
    return list(
        DeliveredReport.objects.filter(client=client)
        .select_related("anchor", "created_by")
        .defer("content")[:20]
    )


def report_schedule_for(
    user: User | AnonymousUser, client: Client
) -> tuple[ReportSchedule | None, list[Contact]]:
    """The client's report schedule (None if never set) and the contacts it may name."""
    client = client_get_for(user, client.pk)
    schedule = ReportSchedule.objects.filter(client=client).prefetch_related("contacts").first()
    contacts = list(Contact.objects.filter(client=client, is_active=True).order_by("name"))
    return schedule, contacts


def delivered_get_for(user: User | AnonymousUser, pk: int | str) -> DeliveredReport:
    try:
        return DeliveredReport.objects.select_related("client").get(
            pk=pk, client__in=client_list_for(user)
        )
    except (DeliveredReport.DoesNotExist, ValueError, TypeError):
        raise Http404("No such report.") from None


def _decisions_of_period(
    client: Client, since: dt.datetime, until: dt.datetime
) -> tuple[list[Response], dict[int, Decided]]:
    """The responses recorded in the period, and each recommendation's last decision
    in it (a response or the follow-up marking it ignored)."""
    responses = list(
        Response.objects.filter(
            recommendation__client=client, recorded_at__gte=since, recorded_at__lt=until
        )
        .select_related("recommendation", "recorded_by")
        .order_by("recorded_at", "id")
    )
    last: dict[int, Decided] = {}
    for response in responses:
        last[response.recommendation_id] = Decided(
            response.recommendation_id, response.decision, response.recorded_at
        )
    ignores = Event.objects.filter(
        client=client, kind="recommendation.mark_ignored", at__gte=since, at__lt=until
    ).values_list("recommendation_id", "at")
    for rec_id, at in ignores:
        if rec_id is not None and (rec_id not in last or last[rec_id].at <= at):
            last[rec_id] = Decided(rec_id, IGNORED, at)
    return responses, last


def _age_bucket(days: int) -> str:
    for name, upper in AGE_BUCKETS:
        if upper is None or days < upper:
            return name
    return AGE_BUCKETS[-1][0]


def _risk_reason(rec: Recommendation, now: dt.datetime) -> str | None:
    if rec.is_overdue(now):
        return "overdue"
    if rec.status in (Status.REJECTED, Status.DEFERRED, Status.IGNORED):
        return str(rec.status)
    if rec.status in (Status.ACCEPTED, Status.IN_PROGRESS):
        return "accepted_not_applied"
    return None


def _risk_date(rec: Recommendation, reason: str) -> dt.date | None:
    if reason == "deferred":
        return rec.deferred_until
    if reason == "accepted_not_applied" or (
        reason == "overdue" and rec.status != Status.AWAITING_RESPONSE
    ):
        return rec.planned_for
    if reason == "overdue" and rec.response_due_at:
        return rec.response_due_at.astimezone(rec.client.tz).date()
    return None


def qbr_for(client: Client, period: Period, *, now: dt.datetime) -> Qbr:
    """Every figure of the client's QBR for ``period``, as of ``now``. The client must
    already be one the reader may see (``report_client_get_for``)."""
    tz = client.tz
    since, until = period.bounds(tz)
    today = now.astimezone(tz).date()

    # 1. Every recommendation of the client, once, with the columns the report shows.
    recs = list(
        Recommendation.objects.filter(client=client)
        .select_related("client", "owner")
        .only(
            "id",
            "client__id",
            "client__time_zone",
            "client__name",
            "owner__id",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
            "title",
            "severity",
            "status",
            "presented_at",
            "response_due_at",
            "decided_at",
            "planned_for",
            "deferred_until",
            "implemented_at",
            "verified_at",
            "created_at",
        )
        .order_by("id")
    )
    by_id = {rec.pk: rec for rec in recs}
    status_counts = dict.fromkeys(Status.values, 0)
    matrix: Counter[tuple[str, str]] = Counter()
    severity_counts = dict.fromkeys(Severity.values, 0)
    for rec in recs:
        status_counts[rec.status] += 1
        matrix[(rec.status, rec.severity)] += 1
        if rec.status in ACTIVE_STATUSES:
            severity_counts[rec.severity] += 1
    compliance, active = compliance_score(dict(matrix))

    # 2. Decisions of the period and adoption.
    responses, last = _decisions_of_period(client, since, until)
    decided = Counter(d.decision for d in last.values())
    decided_total = sum(decided.values())
    accepted_ids = [rid for rid, d in last.items() if d.decision == Decision.ACCEPTED]
    implemented = sum(
        1 for rid in accepted_ids if rid in by_id and by_id[rid].status in DONE_STATUSES
    )

    # 3. Response rate and time to decision over what was presented in the period.
    presented = [rec for rec in recs if rec.presented_at and since <= rec.presented_at < until]
    first_answer: dict[int, dt.datetime] = {}
    if presented:
        rows = (
            Response.objects.filter(recommendation__client=client, recorded_at__gte=since)
            .order_by()
            .values("recommendation_id")
            .annotate(first=Min("recorded_at"))
        )
        first_answer = {row["recommendation_id"]: row["first"] for row in rows}
    responded = [rec for rec in presented if rec.pk in first_answer]
    waits = [
        (first_answer[rec.pk] - rec.presented_at).total_seconds() / 86400
        for rec in responded
        if rec.presented_at
    ]
    median = (
        Decimal(str(statistics.median(waits))).quantize(Decimal("0.1"), ROUND_HALF_UP)
        if waits
        else None
    )

    # 4. Every open risk item, grouped by severity then age.
    grouped: dict[str, dict[str, list[RiskItem]]] = defaultdict(lambda: defaultdict(list))
    risk_counts = dict.fromkeys(RISK_REASONS, 0)
    awaiting: list[Recommendation] = []
    upcoming: list[tuple[dt.date, str, Recommendation]] = []
    horizon = today + dt.timedelta(days=UPCOMING_DAYS)
    for rec in recs:
        reason = _risk_reason(rec, now)
        if reason is None:
            if rec.status == Status.AWAITING_RESPONSE:
                awaiting.append(rec)
            continue
        start = rec.presented_at or rec.created_at
        age = max(0, (now - start).days)
        item = RiskItem(
            rec=rec,
            reason=reason,
            age_days=age,
            bucket=_age_bucket(age),
            since=start.astimezone(tz).date(),
            date=_risk_date(rec, reason),
        )
        grouped[rec.severity][item.bucket].append(item)
        risk_counts[reason] += 1
        if rec.status == Status.DEFERRED and rec.deferred_until:
            upcoming.append((rec.deferred_until, "deferred_until", rec))
        elif rec.status in (Status.ACCEPTED, Status.IN_PROGRESS) and rec.planned_for:
            upcoming.append((rec.planned_for, "planned_for", rec))
    severity_labels = dict(Severity.choices)
    risk_groups = []
    for severity in sorted(grouped, key=lambda s: SEVERITY_ORDER.get(s, 9)):  # type: ignore[call-overload]
        buckets = [
            (name, sorted(grouped[severity][name], key=lambda i: (-i.age_days, i.rec.pk)))
            for name, _ in reversed(AGE_BUCKETS)
            if grouped[severity].get(name)
        ]
        risk_groups.append(RiskGroup(severity, str(severity_labels[severity]), buckets))
    upcoming = sorted(
        (row for row in upcoming if today <= row[0] <= horizon), key=lambda r: (r[0], r[2].pk)
    )

    # 5. Decisions grouped by day; escalations; history.
    by_day: dict[dt.date, list[Response]] = defaultdict(list)
    for response in responses:
        by_day[response.recorded_at.astimezone(tz).date()].append(response)
    ignored_in_period = [
        by_id[rid] for rid, d in last.items() if d.decision == IGNORED and rid in by_id
    ]
    escalations = list(
        FollowupStep.objects.filter(
            client=client, level__gte=1, acted_at__gte=since, acted_at__lt=until
        )
        .select_related("recommendation")
        .only("id", "name", "level", "acted_at", "recommendation__id", "recommendation__title")
        .order_by("acted_at", "id")
    )
    history_from = min(period.start, today - dt.timedelta(days=365))
    history = list(
        ComplianceSnapshot.objects.filter(client=client, day__gte=history_from, day__lte=today)
        .only("day", "score", "active")
        .order_by("day")
    )
    return Qbr(
        client=client,
        period=period,
        now=now,
        since=since,
        until=until,
        status_counts=status_counts,
        severity_counts=severity_counts,
        decided={k: decided.get(k, 0) for k in ("accepted", "deferred", "rejected", IGNORED)},
        adoption_rate=ratio(decided.get(Decision.ACCEPTED, 0), decided_total),
        implementation_rate=ratio(implemented, len(accepted_ids)),
        implemented_of_accepted=(implemented, len(accepted_ids)),
        presented=len(presented),
        responded=len(responded),
        response_rate=ratio(len(responded), len(presented)),
        median_days_to_decision=median,
        compliance=compliance,
        active=active,
        risk_groups=risk_groups,
        risk_counts=risk_counts,
        awaiting=awaiting,
        decisions=sorted(by_day.items()),
        ignored_in_period=ignored_in_period,
        upcoming=upcoming,
        escalations=escalations,
        history=history,
        head=head_for(client),
        trends=trends_for(client, since=history_from, today=today),
    )


# --- the portfolio ----------------------------------------------------------------


@dataclass
class PortfolioRow:
    client: Client
    adoption: Decimal | None
    compliance: Decimal | None
    active: int
    open_critical: int
    overdue: int
    compliance_30d_ago: Decimal | None
    compliance_90d_ago: Decimal | None
    trend: list[tuple[dt.date, Decimal | None]]

    @property
    def delta_30d(self) -> Decimal | None:
        if self.compliance is None or self.compliance_30d_ago is None:
            return None
        return self.compliance - self.compliance_30d_ago


# Open risk items whatever the clock says; overdue awaiting items are counted apart.
OPEN_RISK_STATUSES = frozenset(
    {Status.REJECTED, Status.IGNORED, Status.DEFERRED, Status.ACCEPTED, Status.IN_PROGRESS}
)


def portfolio_for(user: User | AnonymousUser, *, now: dt.datetime) -> list[PortfolioRow]:
    """Every client the user may see, ranked by open critical risks (most first), then
    compliance and adoption (lowest first): the clients that need attention on top.

    Four queries whatever the number of clients or recommendations: the counts are
    aggregated in SQL per (client, status, severity), overdue per client, and the
    snapshots of the last 90 days read per client and day.
    """
    clients = list(client_list_for(user).only("id", "name", "slug", "time_zone"))
    ids = [c.pk for c in clients]
    matrix: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
    for row in (
        Recommendation.objects.filter(client_id__in=ids)
        .order_by()
        .values("client_id", "status", "severity")
        .annotate(n=Count("id"))
    ):
        matrix[row["client_id"]][(row["status"], row["severity"])] = row["n"]
    overdue: dict[int, tuple[int, int]] = {
        row["client_id"]: (row["n"], row["critical"])
        for row in Recommendation.objects.filter(overdue_q(now), client_id__in=ids)
        .order_by()
        .values("client_id")
        .annotate(
            n=Count("id"),
            critical=Count(
                "id",
                filter=Q(severity=Severity.CRITICAL, status=Status.AWAITING_RESPONSE),
            ),
        )
    }
    today = now.astimezone(dt.UTC).date()
    trend: dict[int, dict[dt.date, Decimal | None]] = defaultdict(dict)
    for client_id, day, score in ComplianceSnapshot.objects.filter(
        client_id__in=ids, day__gte=today - dt.timedelta(days=90)
    ).values_list("client_id", "day", "score"):
        trend[client_id][day] = score

    rows = []
    for client in clients:
        counts = matrix.get(client.pk, {})
        score, active = compliance_score(counts)
        adopted = sum(n for (s, _), n in counts.items() if s in ADOPTED_STATUSES)
        decided = sum(n for (s, _), n in counts.items() if s in DECIDED_STATUSES)
        open_critical = sum(
            n
            for (s, sev), n in counts.items()
            if sev == Severity.CRITICAL and s in OPEN_RISK_STATUSES
        )
        n_overdue, critical_awaiting_overdue = overdue.get(client.pk, (0, 0))
        days = trend.get(client.pk, {})
        series = sorted(days.items())
        rows.append(
            PortfolioRow(
                client=client,
                adoption=ratio(adopted, decided),
                compliance=score,
                active=active,
                open_critical=open_critical + critical_awaiting_overdue,
                overdue=n_overdue,
                compliance_30d_ago=days.get(today - dt.timedelta(days=30)),
                compliance_90d_ago=days.get(today - dt.timedelta(days=90)),
                trend=series,
            )
        )
    rows.sort(
        key=lambda r: (
            -r.open_critical,
            r.compliance if r.compliance is not None else Decimal(101),
            r.adoption if r.adoption is not None else Decimal(101),
            r.client.name,
        )
    )
    return rows
