"""The rules a client's decision must meet, whatever channel brought it.

Staff answers (``response_record``), signed links, the portal, e-mail replies, meetings
and spreadsheet imports all ask these functions, so a rule is written once and every
channel refuses with the same ``lifecycle.Msg``. Pure: no database access; the caller
passes the recommendation as it stands (locked, if it is about to write) and the
client's today.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from recommendations.choices import Channel, Decision, Status
from recommendations.lifecycle import (
    DECISION_ACTIONS,
    TRANSITIONS,
    Action,
    InvalidValue,
    MissingField,
    Msg,
    check_transition,
)
from recommendations.models import snapshot_sha256

if TYPE_CHECKING:
    from clients.models import Contact
    from recommendations.models import Recommendation

# Every status some decision may start from, read off the transition table so that a
# page listing "what the client can still decide" cannot drift from what the services
# accept (the meeting page once left out in_progress and ignored).
DECIDABLE_STATUSES: frozenset[Status] = frozenset().union(
    *(TRANSITIONS[action][0] for action in DECISION_ACTIONS.values())
)


def is_decidable(status: str) -> bool:
    """True when the table allows at least one decision (accept, defer or reject)."""
    return status in DECIDABLE_STATUSES


def decisions_allowed(status: str) -> list[str]:
    """The decisions (``Decision`` values) the table allows from ``status``."""
    return [d for d, action in DECISION_ACTIONS.items() if status in TRANSITIONS[action][0]]


def decision_action(decision: str) -> Action:
    """The lifecycle action of a decision, or InvalidValue for an unknown one."""
    try:
        return DECISION_ACTIONS[decision]
    except KeyError:
        raise InvalidValue(
            _(Msg.UNKNOWN_DECISION).format(decision=decision), field="decision"
        ) from None


def text_matches(recommendation: Recommendation, shown_sha256: str) -> bool:
    """True when ``shown_sha256`` (the hash of the text the client was shown, or the
    text the e-mail was sent with) is the recommendation's text as it stands now.

    The current title, body and risk are hashed again rather than trusting the stored
    ``text_sha256`` alone: a row edited behind the services' back keeps its old hash,
    and comparing stored hashes only would let an answer to the old text count."""
    stored = recommendation.text_sha256
    if not stored or shown_sha256 != stored:
        return False
    actual = snapshot_sha256(
        title=recommendation.title,
        body=recommendation.body,
        risk_if_ignored=recommendation.risk_if_ignored,
    )
    return actual == stored


# Once: ``Channel.values`` builds its list (and every label) again at each call.
_CHANNELS = frozenset(Channel.values)


def validate_decision(
    *,
    recommendation: Recommendation,
    decision: str,
    today: dt.date,
    planned_for: dt.date | None = None,
    deferred_until: dt.date | None = None,
    justification: str = "",
    channel: str | None = None,
    attendees: str = "",
    responder: Contact | None = None,
    responder_name: str | None = None,
    shown_text_sha256: str = "",
) -> Action:
    """Check a decision and its inputs against the lifecycle; return its action.

    Raises ``TransitionNotAllowed``, ``MissingField`` or ``InvalidValue`` with a
    ``Msg`` constant and the field at fault, in a fixed order (the table first, then
    who answered and how, then the decision's own inputs), so every channel reports
    the same first problem. ``today`` is the client's today: dates are the client's
    calendar days. ``channel`` and ``responder_name`` are checked only when given
    (the client channels name the contact themselves); ``shown_text_sha256`` only when
    not empty (staff may not know which text the client saw).
    """
    action = decision_action(decision)
    check_transition(action, recommendation.status)
    if responder is not None and responder.client_id != recommendation.client_id:
        raise InvalidValue(Msg.RESPONDER_OTHER_CLIENT, field="responder")
    if responder_name is not None and not responder_name.strip():
        raise MissingField(Msg.RESPONDER_REQUIRED, field="responder")
    if channel is not None:
        if channel not in _CHANNELS:
            raise InvalidValue(
                _("Unknown channel {channel!r}.").format(channel=channel), field="channel"
            )
        if channel == Channel.MEETING and not attendees.strip():
            raise MissingField(Msg.ATTENDEES_REQUIRED, field="attendees")
    if shown_text_sha256 and not text_matches(recommendation, shown_text_sha256):
        raise InvalidValue(Msg.TEXT_HASH_MISMATCH, field="shown_text_sha256")
    justification = justification.strip()
    if decision == Decision.ACCEPTED:
        if planned_for is None:
            raise MissingField(Msg.PLANNED_DATE_REQUIRED, field="planned_for")
        if planned_for < today:
            raise InvalidValue(Msg.PLANNED_DATE_PAST, field="planned_for")
    elif decision == Decision.DEFERRED:
        if deferred_until is None:
            raise MissingField(Msg.DEFER_DATE_REQUIRED, field="deferred_until")
        if deferred_until <= today:
            raise InvalidValue(Msg.DEFER_DATE_NOT_FUTURE, field="deferred_until")
        if not justification:
            raise MissingField(Msg.DEFER_JUSTIFICATION_REQUIRED, field="justification")
    elif not justification:
        raise MissingField(Msg.REJECT_JUSTIFICATION_REQUIRED, field="justification")
    return action
