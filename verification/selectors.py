"""Reads of devices and compliance, scoped to the clients the user may see (a
technician sees assigned clients only); anything else is a 404."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    Count,
    DateField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    prefetch_related_objects,
)
from django.http import Http404

from accounts.models import User
from clients.models import Client
from clients.selectors import client_list_for
from recommendations.models import Recommendation
from verification.choices import DeviceState
from verification.models import (
    Device,
    DeviceCompliance,
    DeviceScoreDay,
    EnrollmentToken,
    RecommendationCompliance,
    ReviewItem,
)
from verification.scores import DeviceScore


def device_list_for(
    user: User | AnonymousUser, *, client_id: int | None = None
) -> QuerySet[Device]:
    qs = Device.objects.filter(client__in=client_list_for(user)).select_related("client")
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    return qs.annotate(hotfix_count=Count("hotfixes")).order_by("computer_name", "id")


def device_get_for(user: User | AnonymousUser, pk: int | str) -> Device:
    try:
        return device_list_for(user).get(pk=pk)
    except (Device.DoesNotExist, ValueError, TypeError):
        raise Http404("No such device.") from None


def device_detail_for(user: User | AnonymousUser, pk: int | str) -> Device:
    """One device with what its page shows (hotfixes, renames, its state under each
    recommendation), in a fixed number of queries whatever their number."""
    device = device_get_for(user, pk)
    prefetch_related_objects(
        [device],
        "hotfixes",
        "renames",
        Prefetch(
            "compliance",
            queryset=DeviceCompliance.objects.select_related("recommendation").order_by(
                "recommendation__title", "recommendation_id"
            ),
        ),
    )
    return device


def token_list_for(
    user: User | AnonymousUser, *, client_id: int | None = None
) -> QuerySet[EnrollmentToken]:
    """Enrollment tokens of the clients the user may see, newest first, revoked ones
    included (with ``revoked_at``)."""
    qs = EnrollmentToken.objects.filter(client__in=client_list_for(user))
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    return qs


def token_get_for(user: User | AnonymousUser, pk: int | str) -> EnrollmentToken:
    try:
        return EnrollmentToken.objects.select_related("client").get(
            pk=pk, client__in=client_list_for(user)
        )
    except (EnrollmentToken.DoesNotExist, ValueError, TypeError):
        raise Http404("No such token.") from None


def _device_score(client_id: int, visible: QuerySet[Client] | None = None) -> DeviceScore:
    rows = DeviceCompliance.objects.filter(device__client_id=client_id)
    if visible is not None:
        rows = rows.filter(device__client__in=visible)
    totals = rows.aggregate(
        evaluated=Count("id"), compliant=Count("id", filter=Q(state=DeviceState.COMPLIANT))
    )
    return DeviceScore(compliant=totals["compliant"], evaluated=totals["evaluated"])


def device_score_for(user: User | AnonymousUser, *, client_id: int) -> DeviceScore:
    """One aggregate query, whatever the number of devices and rules."""
    return _device_score(client_id, client_list_for(user))


def device_score_history_for(
    user: User | AnonymousUser, *, client_id: int, since: dt.date | None = None
) -> QuerySet[DeviceScoreDay]:
    """The client's daily device compliance, oldest first (from ``since``); empty for a
    client the user may not see (the caller 404s on the client itself)."""
    rows = DeviceScoreDay.objects.filter(client__in=client_list_for(user), client_id=client_id)
    if since is not None:
        rows = rows.filter(day__gte=since)
    return rows.order_by("day")


def device_score_trend(
    client: Client, *, since: dt.date, today: dt.date
) -> list[tuple[dt.date, Decimal | None]]:
    """(day, percent) from ``since`` to ``today`` for a client the caller already
    fetched through a scoped selector: the stored days, then today's live figure.
    Empty when the client has no device history and no device evaluated today, so a
    report can leave the chart out. One query: the stored days and the live
    aggregate in a UNION, so a report that draws it reads a fixed number of queries."""
    stored = (
        DeviceScoreDay.objects.filter(client=client, day__gte=since, day__lt=today)
        .order_by()
        .values_list("day", "compliant", "evaluated")
    )
    live = (
        Client.objects.filter(pk=client.pk)
        .order_by()
        .annotate(
            day=Value(None, output_field=DateField()),
            compliant=Count(
                "devices__compliance",
                filter=Q(devices__compliance__state=DeviceState.COMPLIANT),
            ),
            evaluated=Count("devices__compliance"),
        )
        .values_list("day", "compliant", "evaluated")
    )
    rows = list(stored.union(live, all=True))
    history = sorted((row for row in rows if row[0] is not None), key=lambda row: row[0])
    points: list[tuple[dt.date, Decimal | None]] = [
        (day, DeviceScore(compliant=compliant, evaluated=evaluated).percent)
        for day, compliant, evaluated in history
    ]
    now = next((row for row in rows if row[0] is None), (None, 0, 0))
    if now[2] or points:
        points.append((today, DeviceScore(compliant=now[1], evaluated=now[2]).percent))
    return points


def review_get_for(user: User | AnonymousUser, pk: int | str) -> ReviewItem:
    try:
        return ReviewItem.objects.select_related("client").get(
            pk=pk, client__in=client_list_for(user)
        )
    except (ReviewItem.DoesNotExist, ValueError, TypeError):
        raise Http404("No such refused report.") from None


def review_list_for(
    user: User | AnonymousUser, *, client_id: int | None = None, include_resolved: bool = False
) -> QuerySet[ReviewItem]:
    """Refused reports waiting for a person (and, asked for, those already closed)."""
    qs = ReviewItem.objects.filter(client__in=client_list_for(user))
    if not include_resolved:
        qs = qs.filter(resolved_at=None)
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    return qs


def compliance_of(
    recommendation: Recommendation,
) -> tuple[RecommendationCompliance | None, QuerySet[DeviceCompliance]]:
    """The counts and the per-device states the last verify pass found for a
    recommendation the caller already fetched through ``recommendation_get_for``."""
    summary = RecommendationCompliance.objects.filter(recommendation=recommendation).first()
    devices = DeviceCompliance.objects.filter(recommendation=recommendation).select_related(
        "device"
    )
    return summary, devices
