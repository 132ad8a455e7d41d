"""What the dashboard and the client list show, read from the maintained counters.

Counts that do not depend on the clock (by status, severity and client; the ages of
open risk items) come from ``recommendations.tallies``' tables through the selectors.
Counts that do (overdue, due today, expiring in the next 14 days) cannot be counters:
they are read as index ranges bounded by what the page shows (``limit`` + 1 rows), so
a page says "50+" rather than counting every late item. docs/dashboard.md.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from accounts.models import User
from catalog.choices import Severity
from clients.models import Client
from clients.selectors import client_list_for
from lib import charts
from recommendations.choices import OPEN_STATUSES, Status
from recommendations.selectors import (
    due_between_for,
    expiring_between_for,
    follow_ups_for,
    newest_per_status_for,
    open_ages_for,
    overdue_count_for,
    overdue_first_for,
    tally_matrix_sql_for,
    tally_rows_for,
    tally_sums_for,
)
from reports.models import ComplianceSnapshot
from reports.selectors import (
    ACTIVE_STATUSES,
    ADOPTED_STATUSES,
    AGE_BUCKETS,
    DECIDED_STATUSES,
    DONE_STATUSES,
    OPEN_RISK_STATUSES,
    SEVERITY_WEIGHTS,
    compliance_score,
    ratio,
)

LIST_LIMIT = 10
OVERDUE_LIMIT = 20
EXPIRING_DAYS = 14
TREND_WEEKS = 13
TREND_SECONDS = 15 * 60
# {cache key: (monotonic expiry, weekly sums)}: this process's copy of the trend cache.
_TREND_MEMO: dict[str, tuple[float, dict[str, int]]] = {}

# Open risk items by why they are open, as the issue names them; overdue is apart
# (it depends on the clock). Accepted and in progress together are "accepted, not
# applied yet".
RISK_ROWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rejected", (Status.REJECTED,)),
    ("ignored", (Status.IGNORED,)),
    ("deferred", (Status.DEFERRED,)),
    ("accepted_not_applied", (Status.ACCEPTED, Status.IN_PROGRESS)),
)


def risk_label(reason: str) -> str:
    return {
        "rejected": _("Rejected"),
        "ignored": _("Ignored"),
        "deferred": _("Deferred"),
        "accepted_not_applied": _("Accepted, not applied"),
    }[reason]


# --- per client -------------------------------------------------------------------


@dataclass
class ClientScore:
    """A client's counts and rates from the counters (docs/reports.md definitions).

    ``client`` is the model instance, read only for the rows a page shows
    (``attach_clients``); ranking needs no more than the id, the name and the zone."""

    client_id: int
    name: str
    time_zone: str
    total: int
    open: int
    open_risk: int
    adoption: Decimal | None
    compliance: Decimal | None
    overdue: int | None = None  # filled for the rows a page shows
    client: Client | None = None

    def sort_value(self, key: str) -> Any:
        return {
            "name": self.name.casefold(),
            "open": self.open,
            "risk": self.open_risk,
            "total": self.total,
            # No figure yet sorts after every figure, whichever the direction.
            "adoption": self.adoption,
            "compliance": self.compliance,
        }[key]


SCORE_SORTS = ("name", "open", "risk", "total", "adoption", "compliance")


def score_of(client: Client, counts: dict[tuple[str, str], int]) -> ClientScore:
    """A client's figures from its {(status, severity): n} counters, with the reports'
    definitions of adoption and compliance (``reports.selectors``)."""
    score, _active = compliance_score(counts)
    adopted = sum(n for (s, _sev), n in counts.items() if s in ADOPTED_STATUSES)
    decided = sum(n for (s, _sev), n in counts.items() if s in DECIDED_STATUSES)
    return ClientScore(
        client_id=client.pk,
        name=client.name,
        time_zone=client.time_zone,
        total=sum(counts.values()),
        open=sum(n for (s, _sev), n in counts.items() if s in OPEN_STATUSES),
        open_risk=sum(n for (s, _sev), n in counts.items() if s in OPEN_RISK_STATUSES),
        adoption=ratio(adopted, decided),
        compliance=score,
        client=client,
    )


def client_scores(
    user: User | AnonymousUser,
    *,
    clients: QuerySet[Client] | None = None,
    sort: str = "name",
    descending: bool = False,
    limit: int | None = None,
) -> list[ClientScore]:
    """Every client the user may see (or of ``clients``) with its figures, sorted by
    ``sort``, each row's ``client`` read for the first ``limit`` (all when None):
    two queries whatever the number of clients (their ids, names and zones, and one
    row of sums per client that the database adds up from the counters), and a third
    for the instances of the rows shown.

    The sums are the ones ``reports.selectors.compliance_score`` and the adoption
    rate add up, from the same constants (``SEVERITY_WEIGHTS``, ``ACTIVE_STATUSES``,
    ``DONE_STATUSES``, ``ADOPTED_STATUSES``, ``DECIDED_STATUSES``) and the same
    ``ratio``; ``score_of`` (the client page) computes them in Python from one
    client's counters and a test holds the two to the same figures."""
    chosen = clients if clients is not None else client_list_for(user)
    named = chosen.order_by().values_list("pk", "name", "time_zone")
    sums = tally_sums_for(
        user,
        counts={
            "total": list(Status.values),
            "open": sorted(OPEN_STATUSES),
            "open_risk": sorted(OPEN_RISK_STATUSES),
            "adopted": sorted(ADOPTED_STATUSES),
            "decided": sorted(DECIDED_STATUSES),
        },
        weighted={"done_w": sorted(DONE_STATUSES), "active_w": sorted(ACTIVE_STATUSES)},
        weights=SEVERITY_WEIGHTS,
    )
    empty = dict.fromkeys(("total", "open", "open_risk", "adopted", "decided"), 0)
    rows = []
    for pk, name, zone in named:
        row = sums.get(pk, {**empty, "done_w": 0, "active_w": 0})
        rows.append(
            ClientScore(
                client_id=pk,
                name=name,
                time_zone=zone,
                total=row["total"],
                open=row["open"],
                open_risk=row["open_risk"],
                adoption=ratio(row["adopted"], row["decided"]),
                compliance=ratio(row["done_w"], row["active_w"]),
            )
        )
    key = sort if sort in SCORE_SORTS else "name"
    known = [r for r in rows if r.sort_value(key) is not None]
    unknown = [r for r in rows if r.sort_value(key) is None]
    known.sort(key=lambda r: (r.sort_value(key), r.name.casefold()), reverse=descending)
    unknown.sort(key=lambda r: r.name.casefold())
    ranked = known + unknown
    attach_clients(ranked if limit is None else ranked[:limit], chosen)
    return ranked


def attach_clients(scores: Sequence[ClientScore], clients: QuerySet[Client]) -> None:
    """Read the ``client`` of each of ``scores`` from ``clients`` (with whatever it
    joins), in one query."""
    found = clients.in_bulk([score.client_id for score in scores])
    for score in scores:
        score.client = found[score.client_id]


# --- the dashboard ----------------------------------------------------------------


def _trend(user: User | AnonymousUser, now: dt.datetime, today_count: int) -> SafeString:
    """Open risk items summed over the user's clients, weekly over 13 weeks from the
    daily compliance snapshots, and today's count from the counters. The weekly
    figures change once a day: they are cached for 15 minutes per scope."""
    today = now.astimezone(dt.UTC).date()
    days = [today - dt.timedelta(weeks=w) for w in range(TREND_WEEKS, 0, -1)]
    scope = "all" if getattr(user, "sees_all_clients", False) else f"user-{user.pk}"
    key = f"dashboard-trend:{scope}:{today.isoformat()}"
    # The shared cache is a database table: this process keeps what it read from it
    # for as long, so a page view does not ask it again.
    remembered = _TREND_MEMO.get(key)
    weekly: dict[str, int] | None = None
    if remembered is not None and remembered[0] > time.monotonic():
        weekly = remembered[1]
    else:
        weekly = cache.get(key)
    if weekly is None:
        sums: dict[str, int] = {}
        for day, by_status in ComplianceSnapshot.objects.filter(
            client__in=client_list_for(user), day__in=days
        ).values_list("day", "by_status"):
            total = sum(n for status, n in by_status.items() if status in OPEN_RISK_STATUSES)
            sums[day.isoformat()] = sums.get(day.isoformat(), 0) + total
        weekly = sums
        cache.set(key, weekly, TREND_SECONDS)
    if remembered is None or remembered[0] <= time.monotonic():
        if len(_TREND_MEMO) > 1000:
            _TREND_MEMO.clear()
        _TREND_MEMO[key] = (time.monotonic() + TREND_SECONDS, weekly)
    points: list[tuple[dt.date, int | None]] = [(d, weekly.get(d.isoformat())) for d in days]
    points.append((today, today_count))
    return charts.count_line(
        points,
        title=_("Open risk items, last 13 weeks"),
        colour=charts.STATUS_COLOURS["rejected"],
        empty_label=_("No history yet"),
    )


def status_by_severity_chart(matrix: dict[tuple[str, str], int]) -> SafeString:
    """Every severity's recommendations split by status, one bar each."""
    statuses = [s for s in Status if s != Status.WITHDRAWN]
    rows = [
        (
            str(severity.label),
            [
                (
                    str(status.label),
                    matrix.get((status.value, severity.value), 0),
                    charts.STATUS_COLOURS[status.value],
                )
                for status in statuses
            ],
        )
        for severity in list(Severity)
    ]
    return charts.stacked_rows(
        rows, title=_("Status by severity"), empty_label=_("No recommendations yet")
    )


def dashboard_context(
    user: User | AnonymousUser,
    *,
    now: dt.datetime,
    today: dt.date,
    client_sort: str,
    descending: bool,
) -> dict[str, Any]:
    matrix = tally_matrix_sql_for(user)
    severities = list(Severity)

    status_rows = []
    for status in Status:
        cells = [(sev, matrix.get((status.value, sev.value), 0)) for sev in severities]
        status_rows.append({"status": status, "cells": cells, "total": sum(n for _, n in cells)})
    column_totals = [
        (sev, sum(matrix.get((s.value, sev.value), 0) for s in Status)) for sev in severities
    ]

    risk_rows = []
    for reason, statuses in RISK_ROWS:
        cells = [(sev, sum(matrix.get((s, sev.value), 0) for s in statuses)) for sev in severities]
        risk_rows.append(
            {
                "reason": reason,
                "label": risk_label(reason),
                "statuses": statuses,
                "cells": cells,
                "total": sum(n for _, n in cells),
            }
        )
    open_risk_total = sum(r["total"] for r in risk_rows)

    edges = [limit for _, limit in AGE_BUCKETS if limit is not None]
    ages = open_ages_for(
        user, statuses=sorted(OPEN_RISK_STATUSES), now=now, edges=edges, matrix=matrix
    )
    age_rows = [
        {
            "severity": sev,
            "cells": [ages.get((sev.value, i), 0) for i in range(len(AGE_BUCKETS))],
        }
        for sev in severities
    ]

    scores = client_scores(user, sort=client_sort, descending=descending, limit=LIST_LIMIT)
    zones = {row.time_zone for row in scores}
    overdue, overdue_more = overdue_first_for(user, now=now, limit=OVERDUE_LIMIT, zones=zones)
    # Today is the viewer's day (the site's time zone), from its midnight to the next.
    start = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    due_today, due_today_more = due_between_for(
        user,
        start=start,
        end=timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min)),
        limit=LIST_LIMIT,
    )
    expiring, expiring_more = expiring_between_for(
        user, first=today, last=today + dt.timedelta(days=EXPIRING_DAYS), limit=LIST_LIMIT
    )
    mine, mine_more = follow_ups_for(user, limit=LIST_LIMIT)
    return {
        "rows": status_rows,
        "severities": severities,
        "column_totals": column_totals,
        "risk_rows": risk_rows,
        "age_labels": [label for label, _ in AGE_BUCKETS],
        "age_rows": age_rows,
        "totals": {
            "open": sum(n for (s, _), n in matrix.items() if s in OPEN_STATUSES),
            "open_risk": open_risk_total,
            "awaiting": sum(n for (s, _), n in matrix.items() if s == Status.AWAITING_RESPONSE),
            "done": sum(
                n for (s, _), n in matrix.items() if s in (Status.IMPLEMENTED, Status.VERIFIED)
            ),
            "all": sum(matrix.values()),
        },
        "overdue": overdue,
        "overdue_more": overdue_more,
        "overdue_limit": OVERDUE_LIMIT,
        "due_today": due_today,
        "due_today_more": due_today_more,
        "expiring": expiring,
        "expiring_more": expiring_more,
        "expiring_days": EXPIRING_DAYS,
        "mine": mine,
        "mine_more": mine_more,
        "list_limit": LIST_LIMIT,
        "client_scores": scores[:LIST_LIMIT],
        "client_count": len(scores),
        "client_sort": client_sort if client_sort in SCORE_SORTS else "name",
        "client_descending": descending,
        "status_chart": status_by_severity_chart(matrix),
        "trend_chart": _trend(user, now, open_risk_total),
    }


# --- one client's page -------------------------------------------------------------

GROUP_LIMIT = 20
CLIENT_TREND_DAYS = 90


def client_trend_chart(client: Client, now: dt.datetime, today_count: int) -> SafeString:
    """The client's open risk items per day over 90 days, from its compliance
    snapshots (at most 90 rows), today's point from the counters."""
    today = now.astimezone(client.tz).date()
    first = today - dt.timedelta(days=CLIENT_TREND_DAYS)
    by_day = {
        day: sum(n for status, n in by_status.items() if status in OPEN_RISK_STATUSES)
        for day, by_status in ComplianceSnapshot.objects.filter(
            client=client, day__gte=first, day__lt=today
        ).values_list("day", "by_status")
    }
    points: list[tuple[dt.date, int | None]] = [
        (first + dt.timedelta(days=i), by_day.get(first + dt.timedelta(days=i)))
        for i in range(CLIENT_TREND_DAYS)
    ]
    points.append((today, today_count))
    return charts.count_line(
        points,
        title=_("Open risk items, last 90 days"),
        colour=charts.STATUS_COLOURS["rejected"],
        empty_label=_("No history yet"),
    )


def client_summary(
    user: User | AnonymousUser, client: Client, *, now: dt.datetime
) -> dict[str, Any]:
    """The client page's summary: counts, rates and charts from the counters, the
    overdue count through the index, and the newest ``GROUP_LIMIT`` items of each
    status in one query (a window per status), so the page costs the same however
    many recommendations the client has."""
    counts: dict[tuple[str, str], int] = {}
    for _client, status, severity, n in tally_rows_for(user, client_id=client.pk):
        counts[(status, severity)] = n
    score = score_of(client, counts)
    by_status = {s.value: 0 for s in Status}
    for (status, _sev), n in counts.items():
        by_status[status] = by_status.get(status, 0) + n
    newest = newest_per_status_for(
        user,
        client_id=client.pk,
        limit=GROUP_LIMIT,
        statuses=[status for status, n in by_status.items() if n],
    )
    groups = [
        {"status": status, "items": newest.get(status.value, []), "count": by_status[status.value]}
        for status in Status
        if by_status[status.value]
    ]
    overdue = overdue_count_for(user, client_id=client.pk, now=now, zones=[client.time_zone])
    return {
        "score": score,
        "groups": groups,
        "group_limit": GROUP_LIMIT,
        "total": score.total,
        "overdue_count": overdue,
        "status_chart": status_by_severity_chart(counts),
        "trend_chart": client_trend_chart(client, now, score.open_risk),
    }
