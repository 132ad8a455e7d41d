import datetime as dt

import pytest

from clients.services import contact_create
from followup.models import OutboxMessage
from ledger.models import Event
from recommendations.lifecycle import Msg
from recommendations.models import Recommendation
from recommendations.services import (
    recommendation_create,
    recommendation_withdraw,
    response_record,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)


def page(rec) -> str:
    return f"/recommendations/{rec.pk}/"


def act(rec, action: str) -> str:
    return f"/recommendations/{rec.pk}/{action}/"


def reloaded(rec) -> Recommendation:
    return Recommendation.objects.get(pk=rec.pk)


def answer(**overrides) -> dict:
    """A complete, valid staff-recorded acceptance taken in a meeting."""
    data = {
        "decision": "accepted",
        "channel": "meeting",
        "attendees": "Alice Rossi, Marco",
        "responder_name": "Alice Rossi",
        "planned_for": "2026-04-15",
    }
    data.update(overrides)
    return data


@pytest.fixture
def accepted(presented, admin, now, contact_a):
    response_record(
        recommendation=presented,
        decision="accepted",
        channel="meeting",
        now=now,
        recorded_by=admin,
        responder=contact_a,
        attendees="Alice",
        planned_for=dt.date(2026, 4, 1),
    )
    return reloaded(presented)


# --- the page ----------------------------------------------------------------------


def test_it_shows_the_snapshot_facts_responses_and_the_timeline(
    login, manager, accepted, contact_a
):
    html = login(manager).get(page(accepted)).content.decode()

    assert accepted.body in html
    assert accepted.risk_if_ignored in html
    assert f'<code class="hash" id="text-sha256">{accepted.text_sha256}</code>' in html
    assert "Critical" in html and "Accepted" in html
    assert "Ada" in html and contact_a.email in html
    assert 'id="responses"' in html and "Meeting / QBR" in html
    events = list(Event.objects.filter(recommendation=accepted).order_by("seq"))
    assert [e.kind for e in events] == [
        "recommendation.created",
        "recommendation.present",
        "recommendation.accept",
    ]
    positions = [html.index(f'id="event-{e.seq}"') for e in events]
    assert positions == sorted(positions)
    for event in events:
        assert f'title="{event.hash}">{event.hash[:12]}</code>' in html
    assert "Awaiting response → Accepted" in html
    assert "staff:ada" in html
    assert "<dt>Planned for</dt><dd>1 Apr 2026</dd>" in html


def test_it_shows_the_custom_field_values(login, manager, client_a, template_fields, admin, now):
    rec = recommendation_create(
        client=client_a,
        template_version=template_fields,
        field_values={"servers": "3", "encrypted": True, "provider": "Wasabi"},
        actor=admin,
        now=now,
    )

    html = login(manager).get(page(rec)).content.decode()

    assert "<dt>Servers in scope</dt><dd>3</dd>" in html
    assert "<dt>Encrypted</dt><dd>Yes</dd>" in html
    assert "<dt>First restore test</dt><dd>—</dd>" in html


def test_it_offers_only_the_actions_the_status_allows(
    login, manager, accepted, client_a, contact_a, make_recommendations
):
    (draft,) = make_recommendations(1, client_a, contact_a)
    browser = login(manager)

    draft_html = browser.get(page(draft)).content.decode()
    accepted_html = browser.get(page(accepted)).content.decode()

    assert 'id="action-present" open' in draft_html
    assert 'id="action-respond"' not in draft_html
    assert 'id="action-start-work" open' in accepted_html
    for slug in ("respond", "mark-implemented", "mark-verified", "withdraw"):
        assert f'id="action-{slug}"' in accepted_html
    assert 'id="action-present"' not in accepted_html


def test_the_answer_form_offers_only_the_decisions_allowed_now(login, manager, accepted):
    response = login(manager).get(page(accepted))

    form = next(p["form"] for p in response.context["panels"] if p["action"].slug == "respond")
    # From accepted, a client may defer or reject; accepting again is also allowed.
    assert [value for value, _ in form.fields["decision"].widget.choices] == [
        "accepted",
        "deferred",
        "rejected",
    ]


def test_an_auditor_sees_the_page_without_any_action_form(login, auditor, presented):
    response = login(auditor).get(page(presented))

    assert response.status_code == 200
    assert response.context["panels"] == []
    assert b'method="post" action="/recommendations/' not in response.content
    assert b"Your account is read-only." in response.content


def test_a_technician_gets_404_for_a_recommendation_of_another_client(
    login, technician, client_b, contact_b, make_recommendations
):
    (other,) = make_recommendations(1, client_b, contact_b)

    assert login(technician).get(page(other)).status_code == 404


# --- actions that succeed ----------------------------------------------------------------


def test_presenting_a_draft_queues_the_mail_and_starts_the_clock(login, manager, draft):
    response = login(manager).post(act(draft, "present"))

    assert response.status_code == 302
    assert response["Location"] == page(draft)
    rec = reloaded(draft)
    assert rec.status == "awaiting_response"
    assert OutboxMessage.objects.filter(recommendation=rec).count() == 1
    followed = login(manager).get(page(draft))
    assert b"Presented to the client; a response is due by" in followed.content


def test_recording_an_acceptance_stores_the_response_and_the_event(
    login, manager, presented, contact_a
):
    response = login(manager).post(
        act(presented, "respond"),
        answer(responder=contact_a.pk, responder_name="", shown_text_sha256=presented.text_sha256),
    )

    assert response.status_code == 302
    rec = reloaded(presented)
    assert (rec.status, rec.planned_for) == ("accepted", dt.date(2026, 4, 15))
    (stored,) = rec.responses.all()
    assert (stored.responder, stored.responder_name) == (contact_a, "Alice Rossi")
    assert (stored.channel, stored.recorded_by.username) == ("meeting", "marco")
    assert stored.attendees == "Alice Rossi, Marco"
    event = Event.objects.get(recommendation=rec, kind="recommendation.accept")
    assert event.actor == "staff:marco"


def test_recording_a_deferral_by_phone_with_a_typed_name(login, manager, presented):
    login(manager).post(
        act(presented, "respond"),
        answer(
            decision="deferred",
            channel="phone",
            attendees="",
            responder_name="Dr. Rossi",
            planned_for="",
            deferred_until="2026-06-30",
            justification="Budget comes in July.",
        ),
    )

    rec = reloaded(presented)
    assert (rec.status, rec.deferred_until) == ("deferred", dt.date(2026, 6, 30))
    assert rec.responses.get().responder is None


def test_recording_a_rejection(login, manager, presented):
    login(manager).post(
        act(presented, "respond"),
        answer(decision="rejected", channel="staff", justification="Risk accepted."),
    )

    assert reloaded(presented).status == "rejected"


@pytest.mark.parametrize(
    ("steps", "status"),
    [
        (["start-work"], "in_progress"),
        (["start-work", "mark-implemented"], "implemented"),
        (["mark-implemented", "mark-verified"], "verified"),
    ],
)
def test_the_work_steps_move_an_accepted_recommendation_on(login, manager, accepted, steps, status):
    browser = login(manager)
    for step in steps:
        response = browser.post(
            act(accepted, step), {"note": "Done on site.", "evidence_ref": "TICKET-7"}
        )
        assert response.status_code == 302, response.content

    assert reloaded(accepted).status == status


def test_withdrawing_records_the_reason(login, manager, presented):
    login(manager).post(act(presented, "withdraw"), {"reason": "Superseded by SSO."})

    rec = reloaded(presented)
    assert (rec.status, rec.close_reason) == ("withdrawn", "Superseded by SSO.")


# --- refused input: the message in place, the input kept, nothing changed -------------------


def field_errors(response, slug: str) -> dict:
    form = response.context["panels"]
    found = next(p["form"] for p in form if p["action"].slug == slug)
    return found.errors


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"planned_for": ""}, "planned_for", Msg.PLANNED_DATE_REQUIRED),
        ({"planned_for": "2026-03-01"}, "planned_for", Msg.PLANNED_DATE_PAST),
        ({"attendees": ""}, "attendees", Msg.ATTENDEES_REQUIRED),
        ({"responder_name": ""}, "responder", Msg.RESPONDER_REQUIRED),
        (
            {"decision": "deferred", "planned_for": "", "justification": "Later."},
            "deferred_until",
            Msg.DEFER_DATE_REQUIRED,
        ),
        (
            {"decision": "deferred", "deferred_until": "2026-03-02", "justification": "x"},
            "deferred_until",
            Msg.DEFER_DATE_NOT_FUTURE,
        ),
        (
            {"decision": "deferred", "deferred_until": "2026-09-01"},
            "justification",
            Msg.DEFER_JUSTIFICATION_REQUIRED,
        ),
        ({"decision": "rejected"}, "justification", Msg.REJECT_JUSTIFICATION_REQUIRED),
        ({"shown_text_sha256": "0" * 64}, "__all__", Msg.TEXT_HASH_MISMATCH),
        ({"planned_for": "next week"}, "planned_for", "Enter a valid date."),
    ],
)
def test_a_refused_answer_is_shown_on_its_field_and_changes_nothing(
    login, manager, presented, snapshot, overrides, field, message
):
    before = snapshot(presented)
    data = answer(**overrides)

    response = login(manager).post(act(presented, "respond"), data)

    assert response.status_code == 400
    assert field_errors(response, "respond")[field] == [message]
    html = response.content.decode()
    assert message.replace("'", "&#x27;") in html
    # The user's input is kept.
    assert 'value="Alice Rossi"' in html or not data["responder_name"]
    assert snapshot(presented) == before


def test_the_error_sits_next_to_the_field_it_names(login, manager, presented):
    response = login(manager).post(act(presented, "respond"), answer(planned_for=""))

    html = response.content.decode()
    field_start = html.index('id="id_respond_planned_for"')
    error_at = html.index(Msg.PLANNED_DATE_REQUIRED)
    next_field = html.index('id="id_respond_deferred_until"')
    assert field_start < error_at < next_field
    assert 'id="action-respond" open' in html
    assert 'value="Alice Rossi, Marco"' not in html  # attendees is a textarea
    assert "Alice Rossi, Marco</textarea>" in html


def test_a_responder_of_another_client_is_refused(login, manager, presented, contact_b, snapshot):
    before = snapshot(presented)

    response = login(manager).post(
        act(presented, "respond"), answer(responder=contact_b.pk, responder_name="")
    )

    assert response.status_code == 400
    assert field_errors(response, "respond")["responder"] == [Msg.RESPONDER_OTHER_CLIENT]
    assert snapshot(presented) == before


def test_presenting_without_a_decision_maker_is_refused(
    login, manager, client_b, admin, now, template_mfa, snapshot
):
    contact = contact_create(
        client=client_b, name="Intern", email="intern@bravo-legal.example", actor=admin, now=now
    )
    rec = recommendation_create(
        client=client_b, template_version=template_mfa, actor=admin, now=now, contact=contact
    )
    before = snapshot(rec)

    response = login(manager).post(act(rec, "present"))

    assert response.status_code == 400
    assert field_errors(response, "present")["__all__"] == [Msg.NO_DECISION_MAKERS]
    assert Msg.NO_DECISION_MAKERS.encode() in response.content
    assert snapshot(rec) == before


def test_withdrawing_without_a_reason_is_refused(login, manager, presented, snapshot):
    before = snapshot(presented)

    response = login(manager).post(act(presented, "withdraw"), {"reason": "  "})

    assert response.status_code == 400
    assert field_errors(response, "withdraw")["reason"] == [Msg.WITHDRAW_REASON_REQUIRED]
    assert 'id="action-withdraw" open' in response.content.decode()
    assert snapshot(presented) == before


@pytest.fixture
def withdrawn(presented, admin, now):
    return recommendation_withdraw(recommendation=presented, actor=admin, now=now, reason="Gone.")


@pytest.mark.parametrize(
    ("fixture", "action", "data", "message"),
    [
        ("presented", "present", {}, "Cannot present a recommendation that is awaiting response."),
        ("draft", "respond", answer(), "Cannot accept a recommendation that is draft."),
        (
            "draft",
            "respond",
            answer(decision="deferred", deferred_until="2026-09-01", justification="x"),
            "Cannot defer a recommendation that is draft.",
        ),
        (
            "draft",
            "respond",
            answer(decision="rejected", justification="x"),
            "Cannot reject a recommendation that is draft.",
        ),
        ("draft", "start-work", {}, "Cannot start work a recommendation that is draft."),
        (
            "presented",
            "mark-implemented",
            {},
            "Cannot mark implemented a recommendation that is awaiting response.",
        ),
        ("draft", "mark-verified", {}, "Cannot mark verified a recommendation that is draft."),
        (
            "withdrawn",
            "withdraw",
            {"reason": "x"},
            "Cannot withdraw a recommendation that is withdrawn.",
        ),
    ],
)
def test_an_action_the_status_does_not_allow_shows_the_lifecycle_message_and_changes_nothing(
    request, login, manager, snapshot, fixture, action, data, message
):
    rec = request.getfixturevalue(fixture)
    before = snapshot(rec)

    response = login(manager).post(act(rec, action), data)

    assert response.status_code == 400
    assert response.context["refused"] == [message]
    html = response.content.decode()
    refused_box = html[html.index('id="action-refused"') :]
    assert refused_box.index(f"<p>{message}</p>") < refused_box.index("</div>")
    assert snapshot(rec) == before


def test_an_auditor_cannot_post_an_action(login, auditor, presented, snapshot):
    before = snapshot(presented)

    response = login(auditor).post(act(presented, "withdraw"), {"reason": "Because."})

    assert response.status_code == 403
    assert "This account may read but not change anything." in response.content.decode()
    assert snapshot(presented) == before


def test_a_technician_cannot_act_on_another_clients_recommendation(
    login, technician, client_b, contact_b, make_recommendations, snapshot
):
    (other,) = make_recommendations(1, client_b, contact_b)
    before = snapshot(other)

    response = login(technician).post(act(other, "present"))

    assert response.status_code == 404
    assert snapshot(other) == before


def test_a_technician_acts_on_an_assigned_client(login, technician, draft):
    response = login(technician).post(act(draft, "present"))

    assert response.status_code == 302
    assert reloaded(draft).status == "awaiting_response"


def test_an_unknown_action_is_404(login, manager, presented):
    assert login(manager).post(act(presented, "approve")).status_code == 404


def test_an_action_url_does_not_answer_get(login, manager, presented):
    assert login(manager).get(act(presented, "present")).status_code == 405
