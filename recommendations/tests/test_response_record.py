"""Recording a client's decision: every required input, every refusal, and the
recomputed deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from recommendations import services
from recommendations.choices import Channel, Status
from recommendations.lifecycle import LifecycleError, Msg
from recommendations.models import Recommendation, Response
from recommendations.tests.helpers import DAY, snapshot


def record(rec, **kwargs):
    base = {"recommendation": rec, "channel": Channel.PHONE}
    base.update(kwargs)
    return services.response_record(**base)


REFUSALS = [
    ("accepted", {}, Msg.PLANNED_DATE_REQUIRED, "planned_for"),
    ("accepted", {"planned_for": dt.date(2026, 3, 1)}, Msg.PLANNED_DATE_PAST, "planned_for"),
    ("deferred", {"justification": "Busy season"}, Msg.DEFER_DATE_REQUIRED, "deferred_until"),
    (
        "deferred",
        {"justification": "Busy season", "deferred_until": dt.date(2026, 3, 2)},
        Msg.DEFER_DATE_NOT_FUTURE,
        "deferred_until",
    ),
    (
        "deferred",
        {"deferred_until": dt.date(2026, 6, 1), "justification": "   "},
        Msg.DEFER_JUSTIFICATION_REQUIRED,
        "justification",
    ),
    ("rejected", {}, Msg.REJECT_JUSTIFICATION_REQUIRED, "justification"),
    ("maybe", {}, Msg.UNKNOWN_DECISION.format(decision="maybe"), "decision"),
]


@pytest.mark.parametrize(("decision", "extra", "message", "field"), REFUSALS)
def test_it_refuses_a_decision_without_its_required_inputs_and_changes_nothing(
    presented, admin, contact_a, now, decision, extra, message, field
):
    before = snapshot(presented)
    with pytest.raises(LifecycleError) as refused:
        record(
            presented, decision=decision, recorded_by=admin, responder=contact_a, now=now, **extra
        )
    assert refused.value.message == message
    assert refused.value.field == field
    assert snapshot(presented) == before


def test_it_refuses_a_responder_from_another_client(presented, admin, contact_b, now):
    before = snapshot(presented)
    with pytest.raises(LifecycleError, match=Msg.RESPONDER_OTHER_CLIENT):
        record(
            presented,
            decision="rejected",
            justification="No",
            recorded_by=admin,
            responder=contact_b,
            now=now,
        )
    assert snapshot(presented) == before


def test_it_refuses_a_meeting_decision_without_attendees(presented, admin, contact_a, now):
    before = snapshot(presented)
    with pytest.raises(LifecycleError, match=Msg.ATTENDEES_REQUIRED):
        record(
            presented,
            decision="accepted",
            planned_for=dt.date(2026, 4, 1),
            channel=Channel.MEETING,
            recorded_by=admin,
            responder=contact_a,
            now=now,
        )
    assert snapshot(presented) == before


def test_it_refuses_an_answer_given_on_a_different_text(presented, admin, contact_a, now):
    before = snapshot(presented)
    with pytest.raises(LifecycleError, match=Msg.TEXT_HASH_MISMATCH):
        record(
            presented,
            decision="rejected",
            justification="No",
            recorded_by=admin,
            responder=contact_a,
            now=now,
            shown_text_sha256="0" * 64,
        )
    assert snapshot(presented) == before


def test_it_refuses_a_staff_channel_without_the_staff_member(presented, contact_a, now):
    before = snapshot(presented)
    with pytest.raises(LifecycleError) as refused:
        record(presented, decision="rejected", justification="No", responder=contact_a, now=now)
    assert refused.value.field == "recorded_by"
    assert snapshot(presented) == before


def test_an_auditor_cannot_record_anything(presented, auditor, contact_a, now):
    before = snapshot(presented)
    with pytest.raises(PermissionDenied):
        record(
            presented,
            decision="rejected",
            justification="No",
            recorded_by=auditor,
            responder=contact_a,
            now=now,
        )
    assert snapshot(presented) == before


def test_accepting_sets_the_planned_date_as_the_next_action(presented, admin, contact_a, now):
    response = record(
        presented,
        decision="accepted",
        planned_for=dt.date(2026, 4, 1),
        channel=Channel.MEETING,
        attendees="Alice Rossi, Ada (MSP)",
        recorded_by=admin,
        responder=contact_a,
        now=now,
    )
    presented.refresh_from_db()
    assert presented.status == Status.ACCEPTED
    # The day after the planned date starts at midnight in the client's zone (Rome, CEST).
    assert presented.next_action_at == dt.datetime(2026, 4, 1, 22, 0, tzinfo=dt.UTC)
    assert response.shown_text_sha256 == presented.text_sha256
    event = presented.events.order_by("-seq").first()
    assert event.kind == "recommendation.accept"
    assert event.data["planned_for"] == "2026-04-01"
    assert event.data["attendees"] == "Alice Rossi, Ada (MSP)"
    assert event.data["recorded_by"] == "ada"
    assert event.actor == "staff:ada"


def test_deferring_counts_deferrals_and_waits_for_the_date(presented, admin, contact_a, now):
    for until in (dt.date(2026, 5, 1), dt.date(2026, 6, 1)):
        record(
            presented,
            decision="deferred",
            deferred_until=until,
            justification="Waiting for the new firewall",
            recorded_by=admin,
            responder=contact_a,
            now=now,
        )
    presented.refresh_from_db()
    assert presented.deferral_count == 2
    assert presented.next_action_at == dt.datetime(2026, 5, 31, 22, 0, tzinfo=dt.UTC)


def test_rejecting_schedules_a_review_a_year_later(presented, admin, contact_a, now):
    record(
        presented,
        decision="rejected",
        justification="Risk accepted by the board",
        recorded_by=admin,
        responder=contact_a,
        now=now,
    )
    presented.refresh_from_db()
    assert presented.review_at == now + 365 * DAY
    assert presented.next_action_at == presented.review_at


def test_a_contact_may_answer_without_staff_through_a_client_channel(presented, contact_a, now):
    response = record(
        presented,
        decision="rejected",
        justification="Too expensive",
        channel=Channel.PORTAL,
        responder=contact_a,
        now=now,
    )
    assert response.recorded_by is None
    assert presented.events.order_by("-seq").first().actor == "contact:alice@acme-dental.example"


def test_a_shown_hash_is_checked_against_the_current_text_not_only_the_stored_hash(
    presented, admin, now
):
    # Edited behind the services' back: the stored hash still equals the shown one.
    Recommendation.objects.filter(pk=presented.pk).update(body="Something else.")
    with pytest.raises(LifecycleError, match=Msg.TEXT_HASH_MISMATCH):
        services.response_record(
            recommendation=presented,
            decision="rejected",
            channel="phone",
            now=now,
            recorded_by=admin,
            responder_name="Alice Rossi",
            justification="No",
            shown_text_sha256=presented.text_sha256,
        )
    assert not Response.objects.exists()
