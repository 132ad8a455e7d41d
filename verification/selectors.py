"""Reads of devices and compliance, scoped to the clients the user may see (a
technician sees assigned clients only); anything else is a 404."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, QuerySet
from django.http import Http404

from accounts.models import User
from clients.selectors import client_list_for
from recommendations.models import Recommendation
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


def token_list_for(user: User | AnonymousUser, *, client_id: int) -> QuerySet[EnrollmentToken]:
    return EnrollmentToken.objects.filter(client__in=client_list_for(user), client_id=client_id)


def review_list_for(user: User | AnonymousUser) -> QuerySet[ReviewItem]:
    return ReviewItem.objects.filter(client__in=client_list_for(user), resolved_at=None)


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
