"""Typed refusals of the answers app, with stable messages tests and pages rely on."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from lib.errors import ServiceError


class Msg:
    LINK_INVALID = gettext_noop("This link is not valid.")
    LINK_USED = gettext_noop("This link has already been used.")
    LINK_EXPIRED = gettext_noop("This link has expired.")
    TEXT_CHANGED = gettext_noop(
        "The text of this recommendation no longer matches what was presented."
    )
    CONSENT_REQUIRED = gettext_noop("Confirm that you are authorised to decide for {client}.")
    NAME_REQUIRED = gettext_noop("Type your full name.")
    DECISION_REQUIRED = gettext_noop("Choose accept, defer or reject.")
    NOT_IN_LINK = gettext_noop("This recommendation is not part of this link.")
    NOT_OPEN = gettext_noop("This recommendation is not waiting for an answer.")
    CONTACT_INACTIVE = gettext_noop("This contact can no longer answer for the client.")
    ATTENDEES_REQUIRED = gettext_noop("A meeting needs its attendees.")
    NO_DECISIONS = gettext_noop("Record at least one decision.")
    OTHER_CLIENT = gettext_noop("Every recommendation must belong to the meeting's client.")
    TOO_MANY_CODES = gettext_noop("Too many sign-in requests; try again later.")
    CODE_INVALID = gettext_noop("This sign-in link is not valid or has expired.")
    NOTHING_TO_PRESENT = gettext_noop("Choose at least one draft recommendation to present.")
    REVIEW_NOTE_REQUIRED = gettext_noop("Say what you found or did.")
    ALREADY_REVIEWED = gettext_noop("This message has already been reviewed.")
    ONE_CLIENT_PER_BATCH = gettext_noop("Present one client's recommendations at a time.")
    RESPONDER_CONTACT_REQUIRED = gettext_noop(
        "Choose the contact who decided: {client} limits who may take this decision."
    )


class AnswerRefused(ServiceError):
    """A refused answer; nothing was changed. ``field`` names the input at fault."""

    code = "refused"

    def __init__(self, message: str, *, field: str | None = None, code: str = "refused") -> None:
        super().__init__(message, field=field, code=code)
