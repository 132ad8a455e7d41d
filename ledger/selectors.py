"""Reads of the ledger, scoped to what the acting user may see."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from clients.models import Client
from clients.selectors import client_list_for
from ledger.models import GENESIS_HASH, Event, Head

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class HeadView:
    """A client's head: the seq and hash of its latest event, (0, genesis) before any."""

    seq: int
    hash: str


@dataclass(frozen=True)
class EventPage:
    """One page of a timeline, newest first. ``next_before`` is the ``before_seq`` of
    the following page, or None on the last page."""

    events: list[Event]
    next_before: int | None


def head_for(client: Client) -> HeadView:
    """The client's head as stored in its head row."""
    row = Head.objects.filter(client_id=client.pk).values_list("seq", "hash").first()
    if row is None:
        return HeadView(seq=0, hash=GENESIS_HASH)
    return HeadView(seq=row[0], hash=row[1])


def event_list_for(
    user: User | AnonymousUser,
    client: Client,
    *,
    recommendation_id: int | None = None,
    kind: str | None = None,
    before_seq: int | None = None,
    after_seq: int | None = None,
    newest_first: bool = True,
) -> QuerySet[Event]:
    """The client's events the user may see (none if the user may not see the
    client), ordered by seq, newest first unless ``newest_first`` is False.

    ``before_seq``/``after_seq`` bound the seq exclusively, for keyset paging that
    reads one page through the (client, seq) unique index however deep it is.
    """
    qs = Event.objects.filter(client=client, client__in=client_list_for(user))
    if recommendation_id is not None:
        qs = qs.filter(recommendation_id=recommendation_id)
    if kind:
        qs = qs.filter(kind=kind)
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    if after_seq is not None:
        qs = qs.filter(seq__gt=after_seq)
    return qs.order_by("-seq" if newest_first else "seq")


def event_page_for(
    user: User | AnonymousUser,
    client: Client,
    *,
    before_seq: int | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    recommendation_id: int | None = None,
    kind: str | None = None,
) -> EventPage:
    """One timeline page of at most ``limit`` events (capped at MAX_PAGE_SIZE),
    newest first, older than ``before_seq`` when given."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = list(
        event_list_for(
            user,
            client,
            recommendation_id=recommendation_id,
            kind=kind,
            before_seq=before_seq,
        )[: limit + 1]
    )
    more = len(rows) > limit
    events = rows[:limit]
    return EventPage(events=events, next_before=events[-1].seq if more else None)


def event_get_for(user: User | AnonymousUser, client: Client, seq: int) -> Event:
    """The client's event number ``seq``, or Http404 if it does not exist or the
    user may not see the client."""
    try:
        return event_list_for(user, client).get(seq=seq)
    except (Event.DoesNotExist, ValueError, TypeError):
        raise Http404("No such event.") from None
