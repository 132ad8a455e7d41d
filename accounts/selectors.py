"""Reads of staff accounts, scoped to who is asking.

Admins, account managers and auditors see every staff account (an account manager
picks the technicians of a client; an auditor reads who could do what); a technician
sees none of them here: an account out of scope is a 404.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, QuerySet
from django.http import Http404

from accounts.models import AuditEvent, User


def user_list_for(viewer: User | AnonymousUser) -> QuerySet[User]:
    """Every staff account, with ``assigned_count``, for those who see all clients."""
    if not viewer.is_authenticated or not viewer.is_active or not viewer.sees_all_clients:
        return User.objects.none()
    return User.objects.annotate(assigned_count=Count("assigned_clients", distinct=True))


def user_get_for(viewer: User | AnonymousUser, pk: int | str) -> User:
    """The account, or Http404 when it does not exist or ``viewer`` may not see it."""
    try:
        return user_list_for(viewer).get(pk=pk)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404("No such staff account.") from None


def audit_list_for(viewer: User | AnonymousUser, user: User) -> QuerySet[AuditEvent]:
    """The account's audit trail, newest first (the account must be in scope)."""
    user_get_for(viewer, user.pk)
    return AuditEvent.objects.filter(user=user).order_by("-at", "-id")
