"""POST /api/v1/recommendations/{id}/<action>/: one lifecycle transition each."""

from __future__ import annotations

import datetime as dt

import pytest

from api.tests.support import DEFER_TO, PLANNED, errors, head_of, snapshot
from followup.models import OutboxMessage
from recommendations.choices import Status
from recommendations.lifecycle import TRANSITIONS, Action, Msg
from recommendations.models import Recommendation
from recommendations.services import recommendation_create


def url(rec: Recommendation, action: str) -> str:
    return f"/api/v1/recommendations/{rec.pk}/{action}/"


def payload(action: Action, contact_id: int) -> tuple[str, dict]:
    """A valid request for each lifecycle action the API exposes."""
    answer = {"channel": "phone", "responder": contact_id}
    return {
        Action.PRESENT: ("present", {}),
        Action.ACCEPT: ("responses", {**answer, "decision": "accepted", "planned_for": PLANNED}),
        Action.DEFER: (
            "responses",
            {
                **answer,
                "decision": "deferred",
                "deferred_until": DEFER_TO,
                "justification": "Budget next quarter.",
            },
        ),
        Action.REJECT: (
            "responses",
            {**answer, "decision": "rejected", "justification": "We accept the risk."},
        ),
        Action.START_WORK: ("start-work", {"note": "Ticket 4411"}),
        Action.MARK_IMPLEMENTED: ("mark-implemented", {"evidence_ref": "change 17"}),
        Action.MARK_VERIFIED: ("mark-verified", {"evidence_ref": "report 3"}),
        Action.WITHDRAW: ("withdraw", {"reason": "Superseded by the new VPN."}),
    }[action]


API_ACTIONS = [
    Action.PRESENT,
    Action.ACCEPT,
    Action.DEFER,
    Action.REJECT,
    Action.START_WORK,
    Action.MARK_IMPLEMENTED,
    Action.MARK_VERIFIED,
    Action.WITHDRAW,
]


@pytest.mark.parametrize("action", API_ACTIONS, ids=str)
@pytest.mark.parametrize("status", list(Status), ids=str)
def test_every_action_follows_the_lifecycle_table_from_every_status(
    api, rec_in, admin, contact_a, status, action
):
    rec = rec_in(status)
    path, body = payload(action, contact_a.pk)
    before = snapshot(rec)

    response = api(admin).post(url(rec, path), body, format="json")

    sources, target = TRANSITIONS[action]
    if status in sources:
        assert response.status_code in (200, 201), response.json()
        rec.refresh_from_db()
        assert rec.status == target
        assert head_of(rec)[0] == before[1][0] + 1
    else:
        label = Status(status).label.lower()
        message = Msg.NOT_ALLOWED.format(action=action.value.replace("_", " "), status=label)
        assert response.status_code == 409
        assert errors(response) == [(None, "transition_not_allowed", message)]
        assert snapshot(rec) == before


def test_presenting_a_draft_starts_the_clock_and_mails_the_decision_makers(
    api, draft, manager, now
):
    response = api(manager).post(url(draft, "present"), format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "awaiting_response"
    assert body["presented_at"] == "2026-03-02T10:00:00+01:00"
    assert dt.datetime.fromisoformat(body["response_due_at"]) == now + dt.timedelta(days=7)
    assert OutboxMessage.objects.filter(recommendation_id=draft.pk).count() == 1


def test_presenting_without_a_decision_maker_names_the_missing_contact(api, client_b, admin, now):
    rec = recommendation_create(
        client=client_b, actor=admin, now=now, title="Back up", body="Nightly.", severity="low"
    )
    before = snapshot(rec)

    response = api(admin).post(url(rec, "present"), format="json")

    assert response.status_code == 400
    assert errors(response) == [("contact", "required", Msg.NO_DECISION_MAKERS)]
    assert snapshot(rec) == before


def test_a_response_is_recorded_by_the_calling_staff_member(api, rec_in, technician, contact_a):
    rec = rec_in(Status.AWAITING_RESPONSE)

    response = api(technician).post(
        url(rec, "responses"),
        {
            "decision": "accepted",
            "planned_for": "2026-04-15",
            "channel": "meeting",
            "attendees": "Alice Rossi, Tess",
            "responder": contact_a.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["recorded_by"]["username"] == "tess"
    assert body["responder"] == {
        "id": contact_a.pk,
        "name": "Alice Rossi",
        "email": contact_a.email,
    }
    assert body["responder_name"] == "Alice Rossi"
    assert body["channel"] == "meeting"
    assert body["shown_text_sha256"] == rec.text_sha256
    assert body["ledger_seq"] == head_of(rec)[0]
    rec.refresh_from_db()
    assert rec.status == Status.ACCEPTED
    assert rec.planned_for == PLANNED


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"decision": "accepted"},
            ("planned_for", "required", Msg.PLANNED_DATE_REQUIRED),
        ),
        (
            {"decision": "accepted", "planned_for": "2026-03-01"},
            ("planned_for", "invalid", Msg.PLANNED_DATE_PAST),
        ),
        (
            {"decision": "deferred", "deferred_until": "2026-06-01"},
            ("justification", "required", Msg.DEFER_JUSTIFICATION_REQUIRED),
        ),
        (
            {"decision": "deferred", "justification": "Later."},
            ("deferred_until", "required", Msg.DEFER_DATE_REQUIRED),
        ),
        (
            {"decision": "deferred", "justification": "Later.", "deferred_until": "2026-03-02"},
            ("deferred_until", "invalid", Msg.DEFER_DATE_NOT_FUTURE),
        ),
        (
            {"decision": "rejected"},
            ("justification", "required", Msg.REJECT_JUSTIFICATION_REQUIRED),
        ),
        (
            {"decision": "accepted", "planned_for": "2026-04-15", "channel": "meeting"},
            ("attendees", "required", Msg.ATTENDEES_REQUIRED),
        ),
    ],
    ids=[
        "accept-without-date",
        "accept-in-the-past",
        "defer-without-justification",
        "defer-without-date",
        "defer-to-today",
        "reject-without-justification",
        "meeting-without-attendees",
    ],
)
def test_an_incomplete_answer_is_refused_with_the_lifecycle_message(
    api, rec_in, admin, contact_a, body, expected
):
    rec = rec_in(Status.AWAITING_RESPONSE)
    before = snapshot(rec)

    response = api(admin).post(
        url(rec, "responses"),
        {"channel": "phone", "responder": contact_a.pk, **body},
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == [expected]
    assert snapshot(rec) == before


def test_an_answer_needs_to_say_who_gave_it(api, rec_in, admin):
    rec = rec_in(Status.AWAITING_RESPONSE)
    before = snapshot(rec)

    response = api(admin).post(
        url(rec, "responses"), {"decision": "rejected", "channel": "phone"}, format="json"
    )

    assert response.status_code == 400
    assert errors(response) == [("responder", "required", Msg.RESPONDER_REQUIRED)]
    assert snapshot(rec) == before


def test_a_contact_of_another_client_cannot_answer(api, rec_in, admin, contact_b):
    rec = rec_in(Status.AWAITING_RESPONSE)
    before = snapshot(rec)

    response = api(admin).post(
        url(rec, "responses"),
        {
            "decision": "accepted",
            "planned_for": "2026-04-15",
            "channel": "phone",
            "responder": contact_b.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == [("responder", "invalid", Msg.RESPONDER_OTHER_CLIENT)]
    assert snapshot(rec) == before


def test_a_technician_cannot_name_a_contact_they_cannot_see(api, rec_in, technician, contact_b):
    rec = rec_in(Status.AWAITING_RESPONSE)
    before = snapshot(rec)

    response = api(technician).post(
        url(rec, "responses"),
        {
            "decision": "rejected",
            "justification": "No.",
            "channel": "phone",
            "responder": contact_b.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == [
        ("responder", "does_not_exist", f"No such contact (id {contact_b.pk}).")
    ]
    assert snapshot(rec) == before


@pytest.mark.parametrize("channel", ["portal", "signed_link", "email", "import", "fax"])
def test_staff_record_answers_only_on_staff_channels(api, rec_in, admin, contact_a, channel):
    rec = rec_in(Status.AWAITING_RESPONSE)
    before = snapshot(rec)

    response = api(admin).post(
        url(rec, "responses"),
        {
            "decision": "rejected",
            "justification": "No.",
            "channel": channel,
            "responder": contact_a.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == [
        ("channel", "invalid_choice", f'"{channel}" is not a valid choice.')
    ]
    assert snapshot(rec) == before


def test_an_unknown_decision_is_a_field_error(api, rec_in, admin, contact_a):
    rec = rec_in(Status.AWAITING_RESPONSE)
    before = snapshot(rec)

    response = api(admin).post(
        url(rec, "responses"),
        {"decision": "maybe", "channel": "phone", "responder": contact_a.pk},
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == [("decision", "invalid_choice", '"maybe" is not a valid choice.')]
    assert snapshot(rec) == before


def test_withdrawing_needs_a_reason(api, rec_in, admin):
    rec = rec_in(Status.AWAITING_RESPONSE)
    before = snapshot(rec)

    response = api(admin).post(url(rec, "withdraw"), {"reason": "  "}, format="json")

    assert response.status_code == 400
    assert errors(response) == [("reason", "required", Msg.WITHDRAW_REASON_REQUIRED)]
    assert snapshot(rec) == before


def test_the_work_steps_lead_to_verified_and_keep_their_notes(api, rec_in, manager):
    rec = rec_in(Status.ACCEPTED)
    client = api(manager)

    started = client.post(url(rec, "start-work"), {"note": "Ticket 4411"}, format="json")
    done = client.post(url(rec, "mark-implemented"), {"evidence_ref": "chg-17"}, format="json")
    verified = client.post(url(rec, "mark-verified"), {"note": "Checked."}, format="json")

    assert [r.json()["status"] for r in (started, done, verified)] == [
        "in_progress",
        "implemented",
        "verified",
    ]
    kinds = list(rec.events.order_by("seq").values_list("kind", "data__note", "actor"))[-3:]
    assert kinds == [
        ("recommendation.start_work", "Ticket 4411", "staff:marco"),
        ("recommendation.mark_implemented", "", "staff:marco"),
        ("recommendation.mark_verified", "Checked.", "staff:marco"),
    ]


def test_an_action_body_must_be_a_json_object(api, rec_in, admin):
    rec = rec_in(Status.AWAITING_RESPONSE)
    before = snapshot(rec)

    response = api(admin).post(
        url(rec, "withdraw"), data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert errors(response)[0][:2] == (None, "parse_error")
    assert snapshot(rec) == before


def test_an_auditor_may_not_act(api, rec_in, auditor):
    rec = rec_in(Status.DRAFT)
    before = snapshot(rec)

    response = api(auditor).post(url(rec, "present"), format="json")

    assert response.status_code == 403
    assert errors(response) == [
        (None, "permission_denied", "This account may read but not change anything.")
    ]
    assert snapshot(rec) == before


def test_a_technician_cannot_act_on_a_client_they_are_not_assigned_to(
    api, technician, client_b, contact_b, admin, now
):
    rec = recommendation_create(
        client=client_b, actor=admin, now=now, title="Patch", body="Now.", severity="high"
    )
    before = snapshot(rec)

    for action in ("present", "start-work", "withdraw"):
        response = api(technician).post(url(rec, action), {"reason": "x"}, format="json")
        assert response.status_code == 404
        assert errors(response) == [(None, "not_found", "No such recommendation.")]
    assert snapshot(rec) == before


def test_an_unknown_recommendation_is_not_found(api, admin):
    response = api(admin).post("/api/v1/recommendations/999999/present/", format="json")

    assert response.status_code == 404
    assert errors(response) == [(None, "not_found", "No such recommendation.")]


def test_withdrawing_without_a_body_gets_the_lifecycle_message(api, rec_in, admin):
    rec = rec_in(Status.DRAFT)
    before = snapshot(rec)

    response = api(admin).post(url(rec, "withdraw"), format="json")

    assert response.status_code == 400
    assert errors(response) == [("reason", "required", Msg.WITHDRAW_REASON_REQUIRED)]
    assert snapshot(rec) == before
