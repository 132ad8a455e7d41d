"""The ticket transition table, action by action and status by status: an allowed
action succeeds and leads where the table says; a refused one raises
TicketTransitionNotAllowed (409) with its stable message and changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from followup.models import OutboxMessage, Ticket, TicketNote, TicketStatus
from followup.services import tickets
from followup.ticket_lifecycle import (
    NEW,
    TICKET_TRANSITIONS,
    TicketAction,
    TicketError,
    TicketTransitionNotAllowed,
    allowed_ticket_actions,
    check_ticket_transition,
)
from ledger.models import Event

pytestmark = pytest.mark.django_db

STATUSES = [NEW, *TicketStatus.values]
EXISTING = list(TicketStatus.values)

EXPECTED = {
    # action: {status it may start from: status it leads to}
    TicketAction.OPEN: {NEW: "open"},
    TicketAction.UPDATE: {"open": "open", "planned": "planned", "waiting": "waiting"},
    TicketAction.NOTE: {s: s for s in EXISTING},
    TicketAction.ASSIGN: {"open": "open", "planned": "planned", "waiting": "waiting"},
    TicketAction.PLAN: {"open": "planned", "planned": "planned", "waiting": "planned"},
    TicketAction.WAIT: {"open": "waiting", "planned": "waiting", "waiting": "waiting"},
    TicketAction.CLOSE: {"open": "closed", "planned": "closed", "waiting": "closed"},
}


def test_the_table_covers_every_action():
    assert set(TICKET_TRANSITIONS) == set(TicketAction) == set(EXPECTED)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", list(TicketAction))
def test_the_table_allows_exactly_the_expected_moves(action, status):
    if status in EXPECTED[action]:
        assert check_ticket_transition(action, status) == EXPECTED[action][status]
        assert action in allowed_ticket_actions(status)
        return
    with pytest.raises(TicketTransitionNotAllowed) as refused:
        check_ticket_transition(action, status)
    label = TicketStatus(status).label.lower() if status else "not opened yet"
    assert refused.value.message == f"Cannot {action.value} a ticket that is {label}."
    assert refused.value.code == "transition_not_allowed"
    assert refused.value.http_status == 409 and refused.value.field == "status"
    assert isinstance(refused.value, TicketError)
    assert action not in allowed_ticket_actions(status)


def _ticket_in(status: str, presented: Any, now: dt.datetime) -> Ticket:
    return Ticket.objects.create(
        recommendation=presented,
        client=presented.client,
        title="Follow up",
        status=status,
        opened_at=now,
        updated_at=now,
        closed_at=now if status == TicketStatus.CLOSED else None,
    )


def _snapshot(ticket: Ticket) -> tuple:
    return (
        list(Ticket.objects.filter(pk=ticket.pk).values()),
        TicketNote.objects.count(),
        Event.objects.count(),
        OutboxMessage.objects.count(),
    )


LATER = dt.timedelta(hours=1)

# action -> how a staff member (or the decision subscriber) asks for it
CALLS: dict[TicketAction, Callable[[Ticket, Any, dt.datetime], Any]] = {
    TicketAction.NOTE: lambda t, admin, now: tickets.ticket_note_add(
        ticket=t, actor=admin, text="Rang.", now=now + LATER
    ),
    TicketAction.ASSIGN: lambda t, admin, now: tickets.ticket_assign(
        ticket=t, assignee=admin, actor=admin, now=now + LATER
    ),
    TicketAction.CLOSE: lambda t, admin, now: tickets.ticket_close(
        ticket=t, actor=admin, now=now + LATER, reason="Done."
    ),
    TicketAction.PLAN: lambda t, admin, now: tickets._move(t, TicketAction.PLAN, now=now + LATER),
    TicketAction.WAIT: lambda t, admin, now: tickets._move(t, TicketAction.WAIT, now=now + LATER),
    TicketAction.UPDATE: lambda t, admin, now: tickets._move(
        t, TicketAction.UPDATE, now=now + LATER
    ),
}


@pytest.mark.parametrize("status", EXISTING)
@pytest.mark.parametrize("action", list(CALLS))
def test_each_action_on_a_ticket_in_each_status(action, status, presented, admin, now):
    ticket = _ticket_in(status, presented, now)
    if status in EXPECTED[action]:
        CALLS[action](ticket, admin, now)
        ticket.refresh_from_db()
        assert ticket.status == EXPECTED[action][status]
        if ticket.status == TicketStatus.CLOSED and status != TicketStatus.CLOSED:
            assert ticket.closed_at == now + LATER
        return
    before = _snapshot(ticket)
    with pytest.raises(TicketTransitionNotAllowed):
        CALLS[action](ticket, admin, now)
    assert _snapshot(ticket) == before


def test_a_ticket_closed_by_another_transaction_is_not_closed_again(presented, admin, now):
    ticket = _ticket_in(TicketStatus.OPEN, presented, now)
    stale = Ticket.objects.get(pk=ticket.pk)
    tickets.ticket_close(ticket=ticket, actor=admin, now=now, reason="Done.")
    before = _snapshot(ticket)
    with pytest.raises(TicketTransitionNotAllowed, match=r"^Cannot close a ticket that is closed"):
        tickets.ticket_close(ticket=stale, actor=admin, now=now + LATER, reason="Again.")
    assert _snapshot(ticket) == before


def test_opening_starts_an_open_ticket_and_a_closed_one_is_not_reopened(presented, admin, now):
    old = _ticket_in(TicketStatus.CLOSED, presented, now)
    ticket, opened = tickets.ticket_open_or_update(
        recommendation=presented, actor=admin, now=now, note="Chase."
    )
    assert opened and ticket.pk != old.pk and ticket.status == TicketStatus.OPEN
    old.refresh_from_db()
    assert old.status == TicketStatus.CLOSED
