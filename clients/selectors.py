"""Reads of clients and contacts, scoped to what the acting user may see."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from clients.models import Client, Contact


def client_list_for(user: User | AnonymousUser) -> QuerySet[Client]:
    """Every client for roles that see all; a technician's assigned clients otherwise."""
    qs = Client.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.sees_all_clients:
        return qs
    return qs.filter(staff=user)


def client_get_for(user: User | AnonymousUser, pk: int | str) -> Client:
    """The client, or Http404 when it does not exist or the user may not see it."""
    try:
        return client_list_for(user).get(pk=pk)
    except (Client.DoesNotExist, ValueError, TypeError):
        raise Http404("No such client.") from None


def contact_list_for(
    user: User | AnonymousUser, *, client: Client | None = None
) -> QuerySet[Contact]:
    qs = Contact.objects.filter(client__in=client_list_for(user)).select_related("client")
    if client is not None:
        qs = qs.filter(client=client)
    return qs


def contact_get_for(user: User | AnonymousUser, pk: int | str) -> Contact:
    try:
        return contact_list_for(user).get(pk=pk)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise Http404("No such contact.") from None
