"""The decision rules every channel shares (``recommendations.decisions``): pure
functions, checked here without a database."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from clients.models import Contact
from recommendations.choices import Channel, Status
from recommendations.decisions import (
    DECIDABLE_STATUSES,
    decisions_allowed,
    is_decidable,
    text_matches,
    validate_decision,
)
from recommendations.lifecycle import (
    DECISION_ACTIONS,
    TRANSITIONS,
    Action,
    InvalidValue,
    MissingField,
    Msg,
    TransitionNotAllowed,
)
from recommendations.models import Recommendation, snapshot_sha256

TODAY = dt.date(2026, 3, 2)


def _rec(status: str = Status.AWAITING_RESPONSE, **text: str) -> Recommendation:
    fields = {"title": "Use MFA", "body": "Everywhere.", "risk_if_ignored": "Phishing.", **text}
    return Recommendation(
        pk=1,
        client_id=7,
        status=status,
        text_sha256=snapshot_sha256(
            title="Use MFA", body="Everywhere.", risk_if_ignored="Phishing."
        ),
        **fields,
    )


def test_decidable_statuses_are_read_off_the_transition_table():
    sources = set().union(*(TRANSITIONS[a][0] for a in DECISION_ACTIONS.values()))
    assert sources == DECIDABLE_STATUSES
    assert {
        Status.AWAITING_RESPONSE,
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.DEFERRED,
        Status.REJECTED,
        Status.IGNORED,
    } == DECIDABLE_STATUSES
    assert not is_decidable(Status.DRAFT) and not is_decidable(Status.VERIFIED)
    assert decisions_allowed(Status.IN_PROGRESS) == ["deferred", "rejected"]
    assert decisions_allowed(Status.REJECTED) == ["accepted", "deferred"]


def test_the_text_matches_only_when_the_shown_stored_and_current_hashes_agree():
    rec = _rec()
    assert text_matches(rec, rec.text_sha256)
    assert not text_matches(rec, "0" * 64)
    assert not text_matches(rec, "")
    # Edited behind the services' back: the stored hash no longer tells the truth.
    assert not text_matches(_rec(body="Nowhere."), rec.text_sha256)
    assert not text_matches(Recommendation(text_sha256=""), "")


@pytest.mark.parametrize(
    ("decision", "inputs", "error", "field", "message"),
    [
        ("accepted", {}, MissingField, "planned_for", Msg.PLANNED_DATE_REQUIRED),
        (
            "accepted",
            {"planned_for": TODAY - dt.timedelta(days=1)},
            InvalidValue,
            "planned_for",
            Msg.PLANNED_DATE_PAST,
        ),
        (
            "deferred",
            {"justification": "x"},
            MissingField,
            "deferred_until",
            Msg.DEFER_DATE_REQUIRED,
        ),
        (
            "deferred",
            {"deferred_until": TODAY, "justification": "x"},
            InvalidValue,
            "deferred_until",
            Msg.DEFER_DATE_NOT_FUTURE,
        ),
        (
            "deferred",
            {"deferred_until": TODAY + dt.timedelta(days=1), "justification": "  "},
            MissingField,
            "justification",
            Msg.DEFER_JUSTIFICATION_REQUIRED,
        ),
        ("rejected", {}, MissingField, "justification", Msg.REJECT_JUSTIFICATION_REQUIRED),
        ("maybe", {}, InvalidValue, "decision", Msg.UNKNOWN_DECISION.format(decision="maybe")),
        (
            "rejected",
            {"justification": "x", "channel": Channel.MEETING},
            MissingField,
            "attendees",
            Msg.ATTENDEES_REQUIRED,
        ),
        (
            "rejected",
            {"justification": "x", "responder_name": " "},
            MissingField,
            "responder",
            Msg.RESPONDER_REQUIRED,
        ),
        (
            "rejected",
            {"justification": "x", "responder": Contact(client_id=8, name="B")},
            InvalidValue,
            "responder",
            Msg.RESPONDER_OTHER_CLIENT,
        ),
        (
            "rejected",
            {"justification": "x", "shown_text_sha256": "0" * 64},
            InvalidValue,
            "shown_text_sha256",
            Msg.TEXT_HASH_MISMATCH,
        ),
    ],
)
def test_each_refusal_has_its_message_and_field(decision, inputs, error, field, message):
    with pytest.raises(error, match=re.escape(message)) as refused:
        validate_decision(recommendation=_rec(), decision=decision, today=TODAY, **inputs)
    assert refused.value.field == field


def test_the_table_is_asked_first_and_a_valid_decision_returns_its_action():
    with pytest.raises(TransitionNotAllowed):
        validate_decision(recommendation=_rec(Status.DRAFT), decision="rejected", today=TODAY)
    assert (
        validate_decision(
            recommendation=_rec(Status.IN_PROGRESS),
            decision="deferred",
            today=TODAY,
            deferred_until=TODAY + dt.timedelta(days=1),
            justification="Budget",
        )
        == Action.DEFER
    )
    assert (
        validate_decision(
            recommendation=_rec(), decision="accepted", today=TODAY, planned_for=TODAY
        )
        == Action.ACCEPT
    )
