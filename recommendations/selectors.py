"""Reads of recommendations, scoped to what the acting user may see.

The HTML views and the API both read through these functions, so access control is
written once, here: what a user may not see does not exist for them (404).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDate
from django.http import Http404

from accounts.models import User
from clients.selectors import client_list_for
from recommendations.choices import Status
from recommendations.models import PresentedTally, Recommendation, Response, StatusTally

# Any model a filter helper narrows (recommendations, their counters).
_M = TypeVar("_M", bound=models.Model)


def recommendation_list_for(
    user: User | AnonymousUser,
    *,
    client_id: int | None = None,
    status: Iterable[str] | str | None = None,
    severity: Iterable[str] | str | None = None,
    owner_id: int | None = None,
    tag: str | None = None,
    search: str | None = None,
    overdue_at: dt.datetime | None = None,
) -> QuerySet[Recommendation]:
    """Recommendations the user may see, filtered; related rows a list shows are joined."""
    qs = Recommendation.objects.select_related("client", "owner", "contact")
    if not (user.is_authenticated and user.is_active):
        return qs.none()
    if not user.sees_all_clients:
        qs = qs.filter(client__in=client_list_for(user))
    # Equality rather than a one-element IN: it lets the database walk the
    # (client, status) index in id order for the newest-first list pages.
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    qs = _one_or_many(qs, "status", status)
    qs = _one_or_many(qs, "severity", severity)
    if owner_id is not None:
        qs = qs.filter(owner_id=owner_id)
    if tag:
        # JSON containment is not portable to SQLite; tags are short lists, so a
        # quoted substring match on the JSON text is exact enough and portable.
        qs = qs.filter(tags__icontains=f'"{tag.strip().lower()}"')
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(client__name__icontains=search))
    if overdue_at is not None:
        qs = qs.filter(overdue_q(overdue_at))
    return qs


def _one_or_many(qs: QuerySet[_M], field: str, value: Iterable[str] | str | None) -> QuerySet[_M]:
    if not value:
        return qs
    values = [value] if isinstance(value, str) else list(value)
    if len(values) == 1:
        return qs.filter(**{field: values[0]})
    return qs.filter(**{f"{field}__in": values})


def overdue_q(now: dt.datetime, *, zones: Iterable[str] | None = None) -> Q:
    """Awaiting a response past its deadline, or accepted/in progress past the planned
    date in the client's own time zone: the rule of ``deadlines.is_overdue``, in SQL.

    Every zone's local date lies within a day of the UTC date, so a planned date two
    days before the UTC date is late everywhere; only the day before and the UTC date
    itself depend on the client's zone, and for those the zones are named.
    """
    return Q(status=Status.AWAITING_RESPONSE, response_due_at__lte=now) | (
        Q(status__in=[Status.ACCEPTED, Status.IN_PROGRESS]) & _late_plan_q(now, zones=zones)
    )


def _late_plan_q(now: dt.datetime, *, zones: Iterable[str] | None = None) -> Q:
    """A planned date that has passed in the client's own time zone at ``now``.

    ``zones``, when the caller knows them, are the time zones of every client the
    query can touch: the zones a day off UTC are then named only among those, a few
    parameters instead of hundreds (the answer is the same)."""
    utc_day = now.astimezone(dt.UTC).date()
    behind, ahead = _zones_off_utc_date(now)
    if zones is not None:
        wanted = set(zones)
        behind = tuple(z for z in behind if z in wanted)
        ahead = tuple(z for z in ahead if z in wanted)
    day = dt.timedelta(days=1)
    return (
        Q(planned_for__lt=utc_day - day)
        | (Q(planned_for=utc_day - day) & ~Q(client__time_zone__in=behind))
        | Q(planned_for=utc_day, client__time_zone__in=ahead)
    )


@functools.cache
def _zone_names() -> tuple[tuple[str, zoneinfo.ZoneInfo], ...]:
    return tuple((name, zoneinfo.ZoneInfo(name)) for name in sorted(zoneinfo.available_timezones()))


def _zones_off_utc_date(now: dt.datetime) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The zones whose local date at ``now`` is the day before the UTC date, and
    those already on the day after it.

    Every zone's offset, and every moment a zone changes it, falls on a quarter of an
    hour of UTC, so no zone's date turns within a UTC quarter hour: the answer is the
    same for every moment of one, and is worked out once per quarter hour rather
    than by asking ~600 zones on every call (``test_overdue_zones``)."""
    utc = now.astimezone(dt.UTC)
    slot = utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)
    return _zones_off_utc_date_at(slot)


@functools.lru_cache(maxsize=4)
def _zones_off_utc_date_at(slot: dt.datetime) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return _zones_off_utc_date_uncached(slot)


def _zones_off_utc_date_uncached(now: dt.datetime) -> tuple[tuple[str, ...], tuple[str, ...]]:
    utc_day = now.astimezone(dt.UTC).date()
    behind, ahead = [], []
    for name, zone in _zone_names():
        local = now.astimezone(zone).date()
        if local < utc_day:
            behind.append(name)
        elif local > utc_day:
            ahead.append(name)
    return tuple(behind), tuple(ahead)


def recommendation_get_for(user: User | AnonymousUser, pk: int | str) -> Recommendation:
    try:
        return recommendation_list_for(user).get(pk=pk)
    except (Recommendation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such recommendation.") from None


def response_list_for(
    user: User | AnonymousUser, recommendation: Recommendation
) -> QuerySet[Response]:
    recommendation_get_for(user, recommendation.pk)
    return recommendation.responses.select_related("responder", "recorded_by").order_by(
        "recorded_at", "id"
    )


def status_counts_for(
    user: User | AnonymousUser, *, client_id: int | None = None
) -> dict[str, int]:
    """{status: count} for every status, zeros included."""
    rows = (
        recommendation_list_for(user, client_id=client_id)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(Status.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def status_severity_matrix_for(user: User | AnonymousUser) -> dict[tuple[str, str], int]:
    """{(status, severity): count} for the dashboard grid."""
    rows = (
        recommendation_list_for(user)
        .order_by()
        .values("status", "severity")
        .annotate(n=Count("id"))
    )
    return {(row["status"], row["severity"]): row["n"] for row in rows}


# --- maintained counters and bounded range reads (the dashboard) ----------------------


def tally_matrix_for(
    user: User | AnonymousUser, *, client_id: int | None = None
) -> dict[tuple[str, str], int]:
    """{(status, severity): count} over the clients the user may see (or one of them),
    read from the maintained counters: a few rows per client, never the recommendations."""
    return _sum_matrix(tally_rows_for(user, client_id=client_id))


def _sum_matrix(rows: Iterable[tuple[int, str, str, int]]) -> dict[tuple[str, str], int]:
    matrix: dict[tuple[str, str], int] = {}
    for _, status, severity, n in rows:
        if n:
            matrix[(status, severity)] = matrix.get((status, severity), 0) + n
    return matrix


def tally_rows_for(
    user: User | AnonymousUser, *, client_id: int | None = None
) -> list[tuple[int, str, str, int]]:
    """(client id, status, severity, count) rows of the maintained counters that the
    user may see: one query, at most 40 rows per client."""
    if not (user.is_authenticated and user.is_active):
        return []
    qs = StatusTally.objects.exclude(n=0)
    if not user.sees_all_clients:
        qs = qs.filter(client__in=client_list_for(user))
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    return list(qs.order_by().values_list("client_id", "status", "severity", "n"))


def tally_count_for(
    user: User | AnonymousUser,
    *,
    client_id: int | None = None,
    status: Iterable[str] | str | None = None,
    severity: Iterable[str] | str | None = None,
) -> int:
    """How many recommendations the user may see with this client, status(es) and
    severity(-ies), read from the maintained counters: what ``recommendation_list_for(...)
    .count()`` says for those filters, at the cost of the clients' counter rows rather
    than of every recommendation."""
    if not (user.is_authenticated and user.is_active):
        return 0
    qs = StatusTally.objects.all()
    if not user.sees_all_clients:
        qs = qs.filter(client__in=client_list_for(user))
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    qs = _one_or_many(qs, "status", status)
    qs = _one_or_many(qs, "severity", severity)
    return int(qs.aggregate(total=Sum("n"))["total"] or 0)


def tally_matrix_sql_for(user: User | AnonymousUser) -> dict[tuple[str, str], int]:
    """{(status, severity): count} over the clients the user may see, summed by the
    database from the counters (one row per status and severity comes back)."""
    if not (user.is_authenticated and user.is_active):
        return {}
    qs = StatusTally.objects.all()
    if not user.sees_all_clients:
        qs = qs.filter(client__in=client_list_for(user))
    rows = qs.order_by().values("status", "severity").annotate(total=Sum("n"))
    return {(row["status"], row["severity"]): row["total"] for row in rows if row["total"]}


def tally_sums_for(
    user: User | AnonymousUser,
    *,
    counts: Mapping[str, Iterable[str]],
    weighted: Mapping[str, Iterable[str]],
    weights: Mapping[str, int],
) -> dict[int, dict[str, int]]:
    """{client id: {name: sum}} from the counters, summed by the database, one row per
    client: for each name of ``counts`` the client's recommendations in those
    statuses, for each name of ``weighted`` the same with each counted ``weights``
    [severity] times (1 for a severity not named)."""
    if not (user.is_authenticated and user.is_active):
        return {}
    qs = StatusTally.objects.all()
    if not user.sees_all_clients:
        qs = qs.filter(client__in=client_list_for(user))
    weight = Case(
        *[When(severity=sev, then=Value(w)) for sev, w in weights.items()],
        default=Value(1),
        output_field=IntegerField(),
    )
    sums: dict[str, Any] = {
        name: Sum("n", filter=Q(status__in=list(statuses))) for name, statuses in counts.items()
    }
    sums.update(
        {
            name: Sum(F("n") * weight, filter=Q(status__in=list(statuses)))
            for name, statuses in weighted.items()
        }
    )
    rows = qs.order_by().values("client_id").annotate(**sums)
    return {row["client_id"]: {name: row[name] or 0 for name in sums} for row in rows}


def open_ages_for(
    user: User | AnonymousUser,
    *,
    statuses: Iterable[str],
    now: dt.datetime,
    edges: Iterable[int],
    matrix: Mapping[tuple[str, str], int] | None = None,
) -> dict[tuple[str, int], int]:
    """{(severity, bucket): count} of the recommendations in ``statuses`` by days since
    their presentation (UTC days): bucket 0 is younger than the first of ``edges``,
    bucket i lies between edges i-1 and i, the last is older than all.

    ``statuses`` must be ones only a presented recommendation reaches (not draft or
    withdrawn). Staff who see every client read the per-day counters of the days
    younger than the last edge, and take the oldest bucket as the rest of the
    per-client counters' total: the rows read follow the last edge's days, not the
    years of history. A technician's few clients are counted through the (client,
    status) index, so the cost follows the clients they hold. ``matrix``, when the
    caller has read it (``tally_matrix_sql_for``), gives those totals without asking
    the counters again."""
    if not (user.is_authenticated and user.is_active):
        return {}
    wanted = list(statuses)
    if Status.DRAFT in wanted or Status.WITHDRAWN in wanted:
        raise ValueError("ages are of presented recommendations: not draft or withdrawn")
    today = now.astimezone(dt.UTC).date()
    bounds = [today - dt.timedelta(days=days) for days in edges]
    oldest = len(bounds)
    # Younger first: after the i-th edge's day means younger than edge i.
    bucket = Case(
        *[When(presented_on__gt=day, then=Value(i)) for i, day in enumerate(bounds)],
        default=Value(oldest),
        output_field=IntegerField(),
    )
    if not user.sees_all_clients:
        rows = (
            Recommendation.objects.filter(
                client__in=client_list_for(user), status__in=wanted, presented_at__isnull=False
            )
            .annotate(presented_on=TruncDate("presented_at", tzinfo=dt.UTC))
            .order_by()
            .annotate(bucket=bucket)
            .values("severity", "bucket")
            .annotate(n=Count("id"))
        )
        return {(row["severity"], row["bucket"]): row["n"] for row in rows if row["n"]}
    out: dict[tuple[str, int], int] = {}
    recent = (
        PresentedTally.objects.filter(status__in=wanted, presented_on__gt=bounds[-1])
        .order_by()
        .annotate(bucket=bucket)
        .values("severity", "bucket")
        .annotate(n=Sum("n"))
    )
    for row in recent:
        out[(row["severity"], row["bucket"])] = row["n"]
    totals: dict[str, int] = {}
    if matrix is not None:
        for (status, severity), n in matrix.items():
            if status in wanted:
                totals[severity] = totals.get(severity, 0) + n
    else:
        for row in (
            StatusTally.objects.filter(status__in=wanted)
            .order_by()
            .values("severity")
            .annotate(n=Sum("n"))
        ):
            totals[row["severity"]] = row["n"]
    for severity, total in totals.items():
        younger = sum(n for (sev, _), n in out.items() if sev == severity)
        out[(severity, oldest)] = total - younger
    return {key: n for key, n in out.items() if n}


# What a summary row shows (title, client, badges, its dates, its owner): reading only
# these columns keeps the dashboard's short lists cheap to build and to compile.
SUMMARY_FIELDS = (
    "id",
    "title",
    "severity",
    "status",
    "client__id",
    "client__name",
    "client__time_zone",
    "owner__id",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "presented_at",
    "response_due_at",
    "planned_for",
    "deferred_until",
    "next_action_at",
    "decided_at",
    "created_at",
)


def summary_rows(qs: QuerySet[Recommendation]) -> QuerySet[Recommendation]:
    """``qs`` reading only ``SUMMARY_FIELDS``, with the client and the owner joined."""
    return qs.select_related(None).select_related("client", "owner").only(*SUMMARY_FIELDS)


def _first(
    parts: Sequence[tuple[QuerySet[Recommendation], str]], limit: int
) -> tuple[list[Recommendation], bool]:
    """The first ``limit`` rows of several querysets by one date field each, merged, and
    whether there were more. Each part reads at most ``limit + 1`` rows in the order of
    its index, so the cost follows what is shown, not what is stored.

    With several parts, each reads only (date, id) and the rows shown are read
    afterwards in one query: the rows that lose the merge are never built."""
    if len(parts) == 1:
        qs, field = parts[0]
        rows = list(summary_rows(qs).order_by(field, "id")[: limit + 1])
        return rows[:limit], len(rows) > limit
    keys: list[tuple[dt.date, int]] = []
    for qs, field in parts:
        for pk, value in qs.order_by(field, "id").values_list("pk", field)[: limit + 1]:
            day = value.astimezone(dt.UTC).date() if isinstance(value, dt.datetime) else value
            keys.append((day, pk))
    keys.sort()
    shown = [pk for _, pk in keys[:limit]]
    if not shown:
        return [], False
    # The ids come from the parts, which are scoped to what the user may see.
    found = summary_rows(Recommendation.objects.all()).in_bulk(shown)
    return [found[pk] for pk in shown], len(keys) > limit


def overdue_first_for(
    user: User | AnonymousUser,
    *,
    now: dt.datetime,
    limit: int,
    zones: Iterable[str] | None = None,
) -> tuple[list[Recommendation], bool]:
    """The ``limit`` longest-overdue items the user may see (``overdue_q``'s rule), the
    oldest due day first, and whether more are overdue: index range reads in the order
    shown, (status, response_due_at) and (status, planned_for). A planned date two
    days or more before the UTC date is late in every zone, so that range needs no
    join to the client to be filtered; the two days around it, which depend on the
    client's zone, are read apart (at most two days of planned dates)."""
    base = recommendation_list_for(user)
    utc_day = now.astimezone(dt.UTC).date()
    edge = utc_day - dt.timedelta(days=1)
    boundary = Q(planned_for__gte=edge) & _late_plan_q(now, zones=zones)
    parts: list[tuple[QuerySet[Recommendation], str]] = [
        (
            base.filter(status=Status.AWAITING_RESPONSE, response_due_at__lte=now),
            "response_due_at",
        )
    ]
    for status in (Status.ACCEPTED, Status.IN_PROGRESS):
        parts.append((base.filter(status=status, planned_for__lt=edge), "planned_for"))
        parts.append((base.filter(Q(status=status) & boundary), "planned_for"))
    return _first(parts, limit)


def due_between_for(
    user: User | AnonymousUser, *, start: dt.datetime, end: dt.datetime, limit: int
) -> tuple[list[Recommendation], bool]:
    """Items whose next follow-up action falls in [start, end), soonest first."""
    qs = recommendation_list_for(user).filter(next_action_at__gte=start, next_action_at__lt=end)
    return _first([(qs, "next_action_at")], limit)


def expiring_between_for(
    user: User | AnonymousUser, *, first: dt.date, last: dt.date, limit: int
) -> tuple[list[Recommendation], bool]:
    """Deferrals ending and planned dates falling from ``first`` to ``last`` (both
    included), soonest first."""
    base = recommendation_list_for(user)
    return _first(
        [
            (
                base.filter(status=Status.DEFERRED, deferred_until__range=(first, last)),
                "deferred_until",
            ),
            (base.filter(status=Status.ACCEPTED, planned_for__range=(first, last)), "planned_for"),
            (
                base.filter(status=Status.IN_PROGRESS, planned_for__range=(first, last)),
                "planned_for",
            ),
        ],
        limit,
    )


def follow_ups_for(user: User | AnonymousUser, *, limit: int) -> tuple[list[Recommendation], bool]:
    """The user's own open follow-ups (they are the owner), next action first, through
    the (owner, next_action_at) index."""
    if not (user.is_authenticated and user.is_active):
        return [], False
    qs = recommendation_list_for(user, owner_id=user.pk).filter(next_action_at__isnull=False)
    return _first([(qs, "next_action_at")], limit)


def newest_per_status_for(
    user: User | AnonymousUser,
    *,
    client_id: int,
    limit: int,
    statuses: Iterable[str] | None = None,
) -> dict[str, list[Recommendation]]:
    """{status: its ``limit`` newest recommendations} of one client, for a page that
    shows each status's first rows: one range read of the (client, status, created_at)
    index per status, so the cost follows what is shown, not how many the client has.
    ``statuses``: the ones worth asking (those the counters say are not empty); all
    when None."""
    base = recommendation_list_for(user, client_id=client_id)
    out: dict[str, list[Recommendation]] = {}
    for status in statuses if statuses is not None else Status.values:
        rows = list(base.filter(status=status).order_by("-created_at", "-id")[:limit])
        if rows:
            out[status] = rows
    return out


def overdue_count_for(
    user: User | AnonymousUser, *, client_id: int, now: dt.datetime, zones: Iterable[str]
) -> int:
    """How many of one client's recommendations are overdue (``overdue_q``; ``zones``
    holds the client's time zone): a count through the (status, response_due_at) and
    (status, planned_for) indexes."""
    qs = recommendation_list_for(user, client_id=client_id)
    return qs.filter(overdue_q(now, zones=zones)).count()
