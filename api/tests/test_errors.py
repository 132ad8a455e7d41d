"""The one exception handler: every ServiceError in the one JSON shape, with its status."""

from __future__ import annotations

import pytest

from accounts.permissions import Msg as RoleMsg
from answers.errors import AnswerRefused
from api.v1.errors import exception_handler
from followup.ticket_lifecycle import Msg as TicketMsg
from followup.ticket_lifecycle import TicketError
from lib.errors import NotAllowed
from recommendations.choices import Status
from recommendations.lifecycle import Action, MissingField, Msg, TransitionNotAllowed


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (
            TransitionNotAllowed(Action.START_WORK, Status.DRAFT),
            409,
            {
                "field": None,
                "code": "transition_not_allowed",
                "message": "Cannot start work a recommendation that is draft.",
            },
        ),
        (
            MissingField(Msg.WITHDRAW_REASON_REQUIRED, field="reason"),
            400,
            {"field": "reason", "code": "required", "message": Msg.WITHDRAW_REASON_REQUIRED},
        ),
        (
            NotAllowed(RoleMsg.CLIENT_MANAGERS_ONLY),
            403,
            {"field": None, "code": "permission_denied", "message": RoleMsg.CLIENT_MANAGERS_ONLY},
        ),
        (
            TicketError(TicketMsg.NOTE_REQUIRED, field="text"),
            400,
            {"field": "text", "code": "invalid", "message": TicketMsg.NOTE_REQUIRED},
        ),
        (
            AnswerRefused("Say what you found or did.", field="review_note", code="required"),
            400,
            {"field": "review_note", "code": "required", "message": "Say what you found or did."},
        ),
    ],
    ids=["transition", "missing-input", "role", "ticket", "answers"],
)
def test_every_service_error_has_the_one_shape_and_its_status(exc, status, error):
    response = exception_handler(exc, {})

    assert response.status_code == status
    assert response.data == {"errors": [error]}
