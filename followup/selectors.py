"""Reads of the outbox and its delivery attempts, scoped to what the acting user may see.

Staff who see every client see every message, including those tied to no client
(staff notifications); a technician sees the messages of the clients assigned to them.
"""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.http import Http404

from accounts.models import User
from clients.selectors import client_list_for
from followup.choices import OutboxStatus
from followup.models import DeliveryAttempt, OutboxMessage, Ticket, TicketStatus, WebhookEndpoint


class Msg:
    UNKNOWN_STATUS = "Unknown delivery status {status!r}; use one of: {choices}."
    UNKNOWN_TICKET_STATUS = "Unknown ticket status {status!r}; use one of: {choices}."


class UnknownStatus(ValueError):
    """A status filter that names no outbox status."""

    code = "invalid"

    def __init__(
        self, status: str, *, choices: list[str] | None = None, template: str = Msg.UNKNOWN_STATUS
    ) -> None:
        self.message = template.format(
            status=status, choices=", ".join(choices or OutboxStatus.values)
        )
        super().__init__(self.message)
        self.field = "status"


def _visible(user: User) -> QuerySet[OutboxMessage]:
    qs = OutboxMessage.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.sees_all_clients:
        return qs
    return qs.filter(client__in=client_list_for(user))


def outbox_list_for(user: User, *, status: str | None = None) -> QuerySet[OutboxMessage]:
    """Messages the user may see, newest first, with their client and recommendation
    joined. ``status`` narrows to one status; an unknown one raises UnknownStatus."""
    qs = _visible(user).select_related("client", "recommendation")
    if status:
        if status not in OutboxStatus.values:
            raise UnknownStatus(status)
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def outbox_get_for(user: User, pk: int | str) -> OutboxMessage:
    """One message with its attempts prefetched, or Http404 when it does not exist or
    the user may not see it."""
    try:
        return (
            _visible(user)
            .select_related("client", "recommendation")
            .prefetch_related("attempt_log")
            .get(pk=pk)
        )
    except (OutboxMessage.DoesNotExist, ValueError, TypeError):
        raise Http404("No such message.") from None


def delivery_attempt_list_for(
    user: User, *, message: OutboxMessage | None = None
) -> QuerySet[DeliveryAttempt]:
    """Delivery attempts the user may see (of one message, if given), newest first."""
    qs = DeliveryAttempt.objects.filter(message__in=_visible(user)).select_related(
        "message", "message__client"
    )
    if message is not None:
        qs = qs.filter(message=message)
    return qs.order_by("-finished_at", "-id")


def outbox_counts_for(user: User) -> dict[str, int]:
    """How many visible messages are in each status (every status present, maybe 0)."""
    counts = dict.fromkeys(OutboxStatus.values, 0)
    rows = _visible(user).order_by().values_list("status").annotate(n=Count("id"))
    for status, n in rows:
        counts[status] = n
    return counts


# --- tickets -------------------------------------------------------------------------


def _visible_tickets(user: User) -> QuerySet[Ticket]:
    qs = Ticket.objects.all()
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.sees_all_clients:
        return qs
    return qs.filter(client__in=client_list_for(user))


def ticket_list_for(
    user: User, *, status: str | None = None, assignee: User | None = None, open_only: bool = False
) -> QuerySet[Ticket]:
    """Tickets the user may see, most recently updated first, with client,
    recommendation and assignee joined. An unknown ``status`` raises UnknownStatus."""
    qs = _visible_tickets(user).select_related("client", "recommendation", "assignee")
    if status:
        if status not in TicketStatus.values:
            raise UnknownStatus(
                status, choices=TicketStatus.values, template=Msg.UNKNOWN_TICKET_STATUS
            )
        qs = qs.filter(status=status)
    if open_only:
        qs = qs.exclude(status=TicketStatus.CLOSED)
    if assignee is not None:
        qs = qs.filter(assignee=assignee)
    return qs.order_by("-updated_at", "-id")


def ticket_get_for(user: User, pk: int | str) -> Ticket:
    """One ticket with its notes, or Http404 when missing or not visible."""
    try:
        return (
            _visible_tickets(user)
            .select_related("client", "recommendation", "assignee")
            .prefetch_related("notes")
            .get(pk=pk)
        )
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise Http404("No such ticket.") from None


def open_ticket_of(recommendation_id: int) -> Ticket | None:
    """The recommendation's ticket that is not closed (at most one), or None. Not
    scoped to a user: the ticket services and the follow-up sweep ask it."""
    return (
        Ticket.objects.filter(recommendation_id=recommendation_id)
        .exclude(status=TicketStatus.CLOSED)
        .select_related("client")
        .first()
    )


def active_endpoints() -> list[WebhookEndpoint]:
    """The webhook endpoints events are published to. Not scoped to a user: the
    publishing service asks it."""
    return list(WebhookEndpoint.objects.filter(is_active=True))


def with_open_ticket(recommendation_ids: list[int]) -> set[int]:
    """Those of ``recommendation_ids`` that have a ticket not closed (one query per
    thousand ids)."""
    found: set[int] = set()
    for start in range(0, len(recommendation_ids), 1000):
        found.update(
            Ticket.objects.filter(recommendation_id__in=recommendation_ids[start : start + 1000])
            .exclude(status=TicketStatus.CLOSED)
            .values_list("recommendation_id", flat=True)
        )
    return found


def webhook_list_for(user: User) -> QuerySet[WebhookEndpoint]:
    """Webhook endpoints (they receive every client's events), for staff who see every
    client; nobody else sees any. Active ones first."""
    if not user.is_authenticated or not user.is_active or not user.sees_all_clients:
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.order_by("-is_active", "name", "id")
