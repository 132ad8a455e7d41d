"""The recommendation lifecycle: one transition table and its typed errors.

Every service in ``recommendations.services`` starts by asking ``check_transition``
whether its action is allowed from the current status; nothing else decides it.
"""

from __future__ import annotations

import enum

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from lib.errors import ServiceError
from recommendations.choices import Status

S = Status


class Action(enum.StrEnum):
    PRESENT = "present"
    ACCEPT = "accept"
    DEFER = "defer"
    REJECT = "reject"
    START_WORK = "start_work"
    MARK_IMPLEMENTED = "mark_implemented"
    MARK_VERIFIED = "mark_verified"
    DRIFT = "drift"
    WITHDRAW = "withdraw"
    EXPIRE_DEFERRAL = "expire_deferral"
    EXPIRE_PLANNED_DATE = "expire_planned_date"
    MARK_IGNORED = "mark_ignored"


# action -> (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.PRESENT: (frozenset({S.DRAFT}), S.AWAITING_RESPONSE),
    # A client may change its mind at any point before the work is done; each
    # answer is a new Response.
    Action.ACCEPT: (
        frozenset({S.AWAITING_RESPONSE, S.ACCEPTED, S.DEFERRED, S.REJECTED, S.IGNORED}),
        S.ACCEPTED,
    ),
    Action.DEFER: (
        frozenset(
            {S.AWAITING_RESPONSE, S.ACCEPTED, S.IN_PROGRESS, S.DEFERRED, S.REJECTED, S.IGNORED}
        ),
        S.DEFERRED,
    ),
    Action.REJECT: (
        frozenset({S.AWAITING_RESPONSE, S.ACCEPTED, S.IN_PROGRESS, S.DEFERRED, S.IGNORED}),
        S.REJECTED,
    ),
    Action.START_WORK: (frozenset({S.ACCEPTED}), S.IN_PROGRESS),
    Action.MARK_IMPLEMENTED: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.IMPLEMENTED),
    Action.MARK_VERIFIED: (frozenset({S.ACCEPTED, S.IN_PROGRESS, S.IMPLEMENTED}), S.VERIFIED),
    Action.DRIFT: (frozenset({S.VERIFIED}), S.ACCEPTED),
    Action.WITHDRAW: (
        frozenset(set(S) - {S.VERIFIED, S.WITHDRAWN}),
        S.WITHDRAWN,
    ),
    Action.EXPIRE_DEFERRAL: (frozenset({S.DEFERRED}), S.AWAITING_RESPONSE),
    Action.EXPIRE_PLANNED_DATE: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), None),
    Action.MARK_IGNORED: (frozenset({S.AWAITING_RESPONSE}), S.IGNORED),
}

# The verb of each action in a refusal ("Cannot start work on..."), translatable.
ACTION_VERBS: dict[Action, str] = {
    Action.PRESENT: gettext_noop("present"),
    Action.ACCEPT: gettext_noop("accept"),
    Action.DEFER: gettext_noop("defer"),
    Action.REJECT: gettext_noop("reject"),
    Action.START_WORK: gettext_noop("start work"),
    Action.MARK_IMPLEMENTED: gettext_noop("mark implemented"),
    Action.MARK_VERIFIED: gettext_noop("mark verified"),
    Action.DRIFT: gettext_noop("drift"),
    Action.WITHDRAW: gettext_noop("withdraw"),
    Action.EXPIRE_DEFERRAL: gettext_noop("expire deferral"),
    Action.EXPIRE_PLANNED_DATE: gettext_noop("expire planned date"),
    Action.MARK_IGNORED: gettext_noop("mark ignored"),
}

DECISION_ACTIONS = {"accepted": Action.ACCEPT, "deferred": Action.DEFER, "rejected": Action.REJECT}


class Msg:
    """Stable error messages; tests, the UI and the API rely on their wording."""

    NOT_ALLOWED = gettext_noop("Cannot {action} a recommendation that is {status}.")
    PLANNED_DATE_REQUIRED = gettext_noop(
        "An accepted recommendation needs a planned implementation date."
    )
    PLANNED_DATE_PAST = gettext_noop("The planned implementation date cannot be in the past.")
    DEFER_DATE_REQUIRED = gettext_noop("A deferral needs the date it is deferred to.")
    DEFER_DATE_NOT_FUTURE = gettext_noop("The deferral date must be in the future.")
    DEFER_JUSTIFICATION_REQUIRED = gettext_noop("A deferral needs a justification.")
    REJECT_JUSTIFICATION_REQUIRED = gettext_noop("A rejection needs a justification.")
    RESPONDER_REQUIRED = gettext_noop("Say who gave the answer.")
    RESPONDER_OTHER_CLIENT = gettext_noop("The responder is not a contact of this client.")
    WITHDRAW_REASON_REQUIRED = gettext_noop("Withdrawing a recommendation needs a reason.")
    DEFERRAL_NOT_DUE = gettext_noop("The deferral has not reached its date yet.")
    PLANNED_DATE_NOT_DUE = gettext_noop("The planned implementation date has not passed yet.")
    PLANNED_DATE_ALREADY_LAPSED = gettext_noop(
        "The lapse of this planned date is already recorded."
    )
    ATTENDEES_REQUIRED = gettext_noop("A decision taken in a meeting needs its attendees.")
    UNKNOWN_DECISION = gettext_noop(
        "Unknown decision {decision!r}; use accepted, deferred or rejected."
    )
    TEXT_HASH_MISMATCH = gettext_noop("The text shown does not match the recommendation's text.")
    NOT_DRAFT = gettext_noop(
        "Only a draft can be edited; a presented recommendation keeps its text."
    )
    NOT_PRESENTABLE = gettext_noop(
        "A recommendation needs a title and a body before it can be presented."
    )
    NO_DECISION_MAKERS = gettext_noop("The client has no active decision maker to present to.")
    # Editing and reassigning (``recommendation_edit``, ``recommendation_set_owner``,
    # ``recommendation_set_contact``, ``recommendations_apply_template``). Marked with
    # gettext_noop so makemessages finds them; the services translate them when raising.
    NOTHING_CHANGED = gettext_noop("Nothing was changed.")
    CLOSED = gettext_noop("A withdrawn recommendation is closed; it cannot be changed.")
    OWNER_DISABLED = gettext_noop("The follow-up owner's account is disabled.")
    OWNER_NOT_STAFF = gettext_noop("The follow-up owner must be a staff member who can act.")
    OWNER_UNCHANGED = gettext_noop("This is already the follow-up owner.")
    CONTACT_OTHER_CLIENT = gettext_noop("The point of contact is not a contact of this client.")
    CONTACT_INACTIVE = gettext_noop("The point of contact is no longer active at the client.")
    CONTACT_UNCHANGED = gettext_noop("This is already the point of contact.")
    NO_CLIENTS = gettext_noop("Choose at least one client.")
    TOO_MANY_CLIENTS = gettext_noop("Apply a template to at most {limit} clients at a time.")
    CLIENT_NOT_VISIBLE = gettext_noop("You cannot see the client {client}.")
    ALREADY_OPEN = gettext_noop(
        "{client} already has recommendation #{pk} from this template; untick it or "
        "withdraw that one first."
    )
    CLIENT_REFUSED = gettext_noop("{client}: {message}")


class LifecycleError(ServiceError):
    """A refused change. ``field`` names the input at fault, if any."""

    code = "lifecycle_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)


class TransitionNotAllowed(LifecycleError):
    """The table refuses the action from the current status: a conflict with the
    recommendation's state (409), not a bad input."""

    code = "transition_not_allowed"
    http_status = 409

    def __init__(self, action: Action, status: str) -> None:
        label = str(Status(status).label).lower()
        super().__init__(_(Msg.NOT_ALLOWED).format(action=_(ACTION_VERBS[action]), status=label))
        self.action = action
        self.status = status


class MissingField(LifecycleError):
    code = "required"


class InvalidValue(LifecycleError):
    code = "invalid"


class NotDue(LifecycleError):
    code = "not_due"


class NotDraft(LifecycleError):
    """An edit of the text after presentation: a conflict with the state (409)."""

    code = "not_draft"
    http_status = 409


class TransitionConflict(LifecycleError):
    """A change the item's state rules out (a withdrawn item is closed): 409."""

    code = "conflict"
    http_status = 409


def allowed_actions(status: str) -> list[Action]:
    """The actions the table allows from ``status``, in table order."""
    return [action for action, (sources, _) in TRANSITIONS.items() if status in sources]


def check_transition(action: Action, status: str) -> Status:
    """Return the status ``action`` leads to from ``status`` or raise TransitionNotAllowed."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise TransitionNotAllowed(action, status)
    return Status(status) if target is None else target
