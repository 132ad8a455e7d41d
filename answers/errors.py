"""Typed refusals of the answers app, with stable messages tests and pages rely on."""

from __future__ import annotations

from lib.errors import ServiceError


class Msg:
    LINK_INVALID = "This link is not valid."
    LINK_USED = "This link has already been used."
    LINK_EXPIRED = "This link has expired."
    TEXT_CHANGED = "The text of this recommendation no longer matches what was presented."
    CONSENT_REQUIRED = "Confirm that you are authorised to decide for {client}."
    NAME_REQUIRED = "Type your full name."
    DECISION_REQUIRED = "Choose accept, defer or reject."
    NOT_IN_LINK = "This recommendation is not part of this link."
    NOT_OPEN = "This recommendation is not waiting for an answer."
    CONTACT_INACTIVE = "This contact can no longer answer for the client."
    ATTENDEES_REQUIRED = "A meeting needs its attendees."
    NO_DECISIONS = "Record at least one decision."
    OTHER_CLIENT = "Every recommendation must belong to the meeting's client."
    TOO_MANY_CODES = "Too many sign-in requests; try again later."
    CODE_INVALID = "This sign-in link is not valid or has expired."
    NOTHING_TO_PRESENT = "Choose at least one draft recommendation to present."
    REVIEW_NOTE_REQUIRED = "Say what you found or did."
    ALREADY_REVIEWED = "This message has already been reviewed."
    ONE_CLIENT_PER_BATCH = "Present one client's recommendations at a time."
    RESPONDER_CONTACT_REQUIRED = (
        "Choose the contact who decided: {client} limits who may take this decision."
    )


class AnswerRefused(ServiceError):
    """A refused answer; nothing was changed. ``field`` names the input at fault."""

    code = "refused"

    def __init__(self, message: str, *, field: str | None = None, code: str = "refused") -> None:
        super().__init__(message, field=field, code=code)
