"""Reads of recommendations, scoped to what the acting user may see.

The HTML views and the API both read through these functions, so access control is
written once, here: what a user may not see does not exist for them (404).
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts.models import User
from clients.selectors import client_list_for
from recommendations.choices import Status
from recommendations.models import Recommendation, Response


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


def _one_or_many(
    qs: QuerySet[Recommendation], field: str, value: Iterable[str] | str | None
) -> QuerySet[Recommendation]:
    if not value:
        return qs
    values = [value] if isinstance(value, str) else list(value)
    if len(values) == 1:
        return qs.filter(**{field: values[0]})
    return qs.filter(**{f"{field}__in": values})


def overdue_q(now: dt.datetime) -> Q:
    """Awaiting a response past its deadline, or accepted/in progress past the planned
    date in the client's own time zone: the rule of ``deadlines.is_overdue``, in SQL.

    Every zone's local date lies within a day of the UTC date, so a planned date two
    days before the UTC date is late everywhere; only the day before and the UTC date
    itself depend on the client's zone, and for those the zones are named.
    """
    utc_day = now.astimezone(dt.UTC).date()
    behind, ahead = _zones_off_utc_date(now)
    day = dt.timedelta(days=1)
    late_plan = (
        Q(planned_for__lt=utc_day - day)
        | (Q(planned_for=utc_day - day) & ~Q(client__time_zone__in=behind))
        | Q(planned_for=utc_day, client__time_zone__in=ahead)
    )
    return Q(status=Status.AWAITING_RESPONSE, response_due_at__lte=now) | (
        Q(status__in=[Status.ACCEPTED, Status.IN_PROGRESS]) & late_plan
    )


@functools.cache
def _zone_names() -> tuple[tuple[str, zoneinfo.ZoneInfo], ...]:
    return tuple((name, zoneinfo.ZoneInfo(name)) for name in sorted(zoneinfo.available_timezones()))


def _zones_off_utc_date(now: dt.datetime) -> tuple[list[str], list[str]]:
    """The zones whose local date at ``now`` is the day before the UTC date, and
    those already on the day after it."""
    utc_day = now.astimezone(dt.UTC).date()
    behind, ahead = [], []
    for name, zone in _zone_names():
        local = now.astimezone(zone).date()
        if local < utc_day:
            behind.append(name)
        elif local > utc_day:
            ahead.append(name)
    return behind, ahead


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
