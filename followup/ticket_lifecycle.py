"""The ticket lifecycle: one transition table and its typed errors.

Every ticket service in ``followup.services.tickets`` asks ``check_ticket_transition``
whether its action is allowed from the ticket's current status before it writes;
nothing else sets ``Ticket.status``. ``NEW`` stands for "no ticket yet": opening is
the one action that starts from it.
"""

from __future__ import annotations

import enum

from django.utils.translation import gettext_noop

from followup.models import TicketStatus
from lib.errors import ServiceError

T = TicketStatus
NEW = ""  # the status of a ticket that does not exist yet


class TicketAction(enum.StrEnum):
    OPEN = "open"
    UPDATE = "update"
    NOTE = "note"
    ASSIGN = "assign"
    PLAN = "plan"
    WAIT = "wait"
    CLOSE = "close"


LIVE = frozenset({T.OPEN, T.PLANNED, T.WAITING})

# action -> (statuses it may start from, status it leads to; None keeps the status)
TICKET_TRANSITIONS: dict[TicketAction, tuple[frozenset[str], TicketStatus | None]] = {
    TicketAction.OPEN: (frozenset({NEW}), T.OPEN),
    # The follow-up sweep escalating the open ticket (a new note, a higher level).
    TicketAction.UPDATE: (LIVE, None),
    # A note may be added to a closed ticket too: the PSA may report on it later.
    TicketAction.NOTE: (frozenset({*LIVE, T.CLOSED}), None),
    TicketAction.ASSIGN: (LIVE, None),
    # The client's decision moves the open ticket on (accepted: planned; deferred:
    # waiting; rejected: closed).
    TicketAction.PLAN: (LIVE, T.PLANNED),
    TicketAction.WAIT: (LIVE, T.WAITING),
    TicketAction.CLOSE: (LIVE, T.CLOSED),
}


class Msg:
    """Stable error messages; tests, the UI and the API rely on their wording."""

    NOT_ALLOWED = gettext_noop("Cannot {action} a ticket that is {status}.")
    NOTE_REQUIRED = gettext_noop("A note needs some text.")
    ASSIGNEE_INACTIVE = gettext_noop("The assignee's account is disabled.")
    ASSIGNEE_CANNOT_SEE = gettext_noop("The assignee cannot see this client.")
    CLOSE_REASON_REQUIRED = gettext_noop("Closing a ticket needs a reason.")


class TicketError(ServiceError):
    """A refused ticket change. ``field`` names the input at fault, if any."""

    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)


class TicketTransitionNotAllowed(TicketError):
    """The table refuses the action from the ticket's status: a conflict (409)."""

    code = "transition_not_allowed"
    http_status = 409

    def __init__(self, action: TicketAction, status: str) -> None:
        label = TicketStatus(status).label.lower() if status else "not opened yet"
        super().__init__(Msg.NOT_ALLOWED.format(action=action.value, status=label), field="status")
        self.action = action
        self.status = status


def allowed_ticket_actions(status: str) -> list[TicketAction]:
    """The actions the table allows from ``status``, in table order."""
    return [action for action, (sources, _) in TICKET_TRANSITIONS.items() if status in sources]


def check_ticket_transition(action: TicketAction, status: str) -> TicketStatus:
    """Return the status ``action`` leads to from ``status``, or raise
    TicketTransitionNotAllowed."""
    sources, target = TICKET_TRANSITIONS[action]
    if status not in sources:
        raise TicketTransitionNotAllowed(action, status)
    return TicketStatus(status) if target is None else target
