"""Reads of devices and compliance, scoped to the clients the user may see (a
technician sees assigned clients only); anything else is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404

from accounts.models import User
from clients.selectors import client_list_for
from recommendations.models import Recommendation
from verification.choices import DeviceState
from verification.models import (
    Device,
    DeviceCompliance,
    EnrollmentToken,
    RecommendationCompliance,
    ReviewItem,
)


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


@dataclass(frozen=True)
class DeviceScore:
    """A client's device compliance: of the (device, rule) pairs the verify pass
    evaluated, how many comply; unknown and stale pairs count against it."""

    compliant: int
    evaluated: int

    @property
    def percent(self) -> Decimal | None:
        if not self.evaluated:
            return None
        return (Decimal(100 * self.compliant) / self.evaluated).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )


def device_score_for(user: User | AnonymousUser, *, client_id: int) -> DeviceScore:
    """One aggregate query, whatever the number of devices and rules."""
    totals = DeviceCompliance.objects.filter(
        device__client__in=client_list_for(user), device__client_id=client_id
    ).aggregate(evaluated=Count("id"), compliant=Count("id", filter=Q(state=DeviceState.COMPLIANT)))
    return DeviceScore(compliant=totals["compliant"], evaluated=totals["evaluated"])


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
