"""The answers API: presenting a batch, link states, meetings, the review queue."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from answers.choices import Outcome
from answers.models import AnswerLink, InboundMessage, Meeting
from lib import crypto
from recommendations.choices import Status
from recommendations.models import Response
from recommendations.services import recommendation_create


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


def _errors(response) -> list[tuple]:
    return [(e["field"], e["message"]) for e in response.json()["errors"]]


def test_presenting_a_batch(
    api, admin, technician, client_a, client_b, contact_a, template_mfa, now
):
    recs = [
        recommendation_create(client=client_a, template_version=template_mfa, actor=admin, now=now)
        for _ in range(2)
    ]
    other = recommendation_create(
        client=client_b, template_version=template_mfa, actor=admin, now=now
    )
    refused = api(technician).post(
        "/api/v1/presentations/", {"recommendations": [recs[0].pk, other.pk]}, format="json"
    )
    assert refused.status_code == 400
    assert _errors(refused) == [("recommendations", f"No such recommendation: {other.pk}.")]
    mixed = api(admin).post(
        "/api/v1/presentations/", {"recommendations": [recs[0].pk, other.pk]}, format="json"
    )
    assert _errors(mixed) == [
        ("recommendations", "Present one client's recommendations at a time.")
    ]
    assert not AnswerLink.objects.exists()
    done = api(admin).post(
        "/api/v1/presentations/", {"recommendations": [r.pk for r in recs]}, format="json"
    )
    assert done.status_code == 201
    assert [r["status"] for r in done.json()] == [Status.AWAITING_RESPONSE] * 2
    # One link per item and one batch link for Alice.
    assert AnswerLink.objects.filter(contact=contact_a).count() == 3


def test_the_links_of_a_recommendation_and_their_state(
    api, admin, technician, presented, contact_a, now, time_machine
):
    url = f"/api/v1/answer-links/?recommendation={presented.pk}"
    with CaptureQueriesContext(connection) as ctx:
        listed = api(admin).get(url)
    assert listed.status_code == 200
    [link] = listed.json()["results"]
    assert (link["contact"], link["state"], link["recommendations"]) == (
        contact_a.email,
        "open",
        [presented.pk],
    )
    assert len(ctx.captured_queries) <= 6
    time_machine.move_to(now + dt.timedelta(days=31), tick=False)
    assert api(admin).get(url).json()["results"][0]["state"] == "expired"
    technician.assigned_clients.clear()
    assert api(technician).get(url).status_code == 404


def test_recording_a_meeting(api, admin, auditor, presented, client_a):
    body = {
        "client": client_a.pk,
        "channel": "phone",
        "held_on": "2026-03-02",
        "attendees": "",
        "decisions": [
            {
                "recommendation": presented.pk,
                "decision": "accepted",
                "responder_name": "Alice Rossi",
            }
        ],
    }
    refused = api(admin).post("/api/v1/meetings/", body, format="json")
    assert _errors(refused) == [("attendees", "A meeting needs its attendees.")]
    body["attendees"] = "Alice Rossi"
    missing_date = api(admin).post("/api/v1/meetings/", body, format="json")
    assert _errors(missing_date) == [
        ("planned_for", "An accepted recommendation needs a planned implementation date.")
    ]
    assert api(auditor).post("/api/v1/meetings/", body, format="json").status_code == 403
    assert not Meeting.objects.exists() and not Response.objects.exists()
    body["decisions"][0]["planned_for"] = "2026-06-30"
    done = api(admin).post("/api/v1/meetings/", body, format="json")
    assert done.status_code == 201
    assert Response.objects.get().channel == "phone"


def test_the_review_queue(api, admin, auditor, technician, client_a, client_b):
    messages = [
        InboundMessage.objects.create(
            received_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
            raw_encrypted=crypto.encrypt(b"x"),
            raw_sha256=f"{c.pk:064d}",
            client=c,
            outcome=Outcome.UNVERIFIED,
            reason="not authenticated",
        )
        for c in (client_a, client_b)
    ]
    with CaptureQueriesContext(connection) as ctx:
        listed = api(admin).get("/api/v1/inbound/")
    assert [m["id"] for m in listed.json()["results"]] == [m.pk for m in reversed(messages)]
    assert len(ctx.captured_queries) <= 6
    assert api(technician).get(f"/api/v1/inbound/{messages[1].pk}/").status_code == 404
    url = f"/api/v1/inbound/{messages[0].pk}/review/"
    assert api(auditor).post(url, {"note": "ok"}, format="json").status_code == 403
    assert _errors(api(admin).post(url, {"note": ""}, format="json")) == [
        ("review_note", "Say what you found or did.")
    ]
    done = api(admin).post(url, {"note": "spoofed"}, format="json")
    assert done.json()["reviewed_by"] == "ada"
    assert [m["id"] for m in api(admin).get("/api/v1/inbound/").json()["results"]] == [
        messages[1].pk
    ]
    assert len(api(admin).get("/api/v1/inbound/?all=true").json()["results"]) == 2
