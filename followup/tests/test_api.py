"""The follow-up API: tickets and deliveries, scoped like every list, with query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from followup.models import Ticket, TicketNote
from followup.sweep import sweep

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


@pytest.fixture
def api(admin) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin)
    return client


@pytest.fixture
def escalated(presented, now) -> Ticket:
    sweep(now=now + 8 * DAY)
    return Ticket.objects.get()


def test_tickets_are_listed_and_shown_with_their_notes(api, escalated, django_assert_num_queries):
    with django_assert_num_queries(1):
        listing = api.get("/api/v1/tickets/?open=true")
    assert [t["id"] for t in listing.json()["results"]] == [escalated.pk]
    detail = api.get(f"/api/v1/tickets/{escalated.pk}/").json()
    assert detail["escalation_level"] == 1 and detail["assignee"] == "ada"
    assert detail["notes"][0]["text"].startswith("Escalation level 1")


def test_an_unknown_ticket_status_is_a_field_error(api, escalated):
    answer = api.get("/api/v1/tickets/?status=lost")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "status"


def test_an_empty_note_is_refused_with_the_service_message(api, escalated):
    notes = TicketNote.objects.count()
    answer = api.post(f"/api/v1/tickets/{escalated.pk}/notes/", {"text": " "}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {"field": "text", "code": "invalid", "message": "A note needs some text."}
    ]
    assert TicketNote.objects.count() == notes
    ok = api.post(f"/api/v1/tickets/{escalated.pk}/notes/", {"text": "Rang."}, format="json")
    assert ok.status_code == 201 and ok.json()["text"] == "Rang."


def test_deliveries_list_every_queued_message_with_its_attempts(
    api, escalated, django_assert_num_queries
):
    with django_assert_num_queries(1):
        listing = api.get("/api/v1/deliveries/?status=pending").json()["results"]
    subjects = [m["subject"] for m in listing]
    assert any("Overdue: 1 security recommendation" in s for s in subjects)
    detail = api.get(f"/api/v1/deliveries/{listing[0]['id']}/").json()
    assert detail["attempt_log"] == []


def test_a_technician_of_another_client_sees_no_ticket(escalated, client_b):
    from conftest import _user

    other = _user("olga", "technician")
    client_b.staff.add(other)
    client = APIClient()
    client.force_authenticate(other)
    assert client.get("/api/v1/tickets/").json()["results"] == []
    assert client.get(f"/api/v1/tickets/{escalated.pk}/").status_code == 404
