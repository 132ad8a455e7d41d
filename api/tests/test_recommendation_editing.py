"""POST /api/v1/recommendations/{id}/edit/, /owner/ and /contact/: the same services
as the staff pages, with the same refusals."""

from __future__ import annotations

import pytest

from api.tests.support import errors, snapshot
from ledger.models import Event
from recommendations.lifecycle import Msg
from recommendations.models import Recommendation


def url(rec: Recommendation, action: str) -> str:
    return f"/api/v1/recommendations/{rec.pk}/{action}/"


def last_event(rec: Recommendation) -> Event:
    return Event.objects.filter(recommendation_id=rec.pk).order_by("-seq")[0]


def test_editing_a_draft(api, draft, manager):
    response = api(manager).post(
        url(draft, "edit"), {"title": "MFA for D'Angelo Società", "tags": ["VPN"]}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "MFA for D'Angelo Società"
    assert last_event(draft).data["changed"] == ["title", "tags"]


def test_editing_a_presented_recommendation_is_a_conflict(api, presented, manager):
    before = snapshot(presented)
    response = api(manager).post(url(presented, "edit"), {"title": "New"}, format="json")
    assert response.status_code == 409
    assert errors(response) == [(None, "not_draft", Msg.NOT_DRAFT)]
    assert snapshot(presented) == before


def test_a_bad_severity_names_the_field(api, draft, manager):
    before = snapshot(draft)
    response = api(manager).post(url(draft, "edit"), {"severity": "urgent"}, format="json")
    assert response.status_code == 400
    assert errors(response)[0][0] == "severity"
    assert snapshot(draft) == before


def test_changing_the_owner(api, presented, manager):
    response = api(manager).post(url(presented, "owner"), {"owner": manager.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert last_event(presented).data == {"old": "ada", "new": "marco"}


def test_an_auditor_cannot_be_the_owner(api, presented, manager, auditor):
    before = snapshot(presented)
    response = api(manager).post(url(presented, "owner"), {"owner": auditor.pk}, format="json")
    assert response.status_code == 400
    assert errors(response) == [("owner", "invalid", Msg.OWNER_NOT_STAFF)]
    assert snapshot(presented) == before


def test_a_contact_of_another_client_is_refused(api, presented, manager, contact_b):
    before = snapshot(presented)
    response = api(manager).post(
        url(presented, "contact"), {"contact": contact_b.pk}, format="json"
    )
    assert response.status_code == 400
    assert errors(response) == [("contact", "invalid", Msg.CONTACT_OTHER_CLIENT)]
    assert snapshot(presented) == before


@pytest.mark.parametrize("action", ["edit", "owner", "contact"])
def test_an_auditor_may_not_change_anything(api, presented, auditor, action):
    before = snapshot(presented)
    response = api(auditor).post(
        url(presented, action), {"owner": None, "contact": None}, format="json"
    )
    assert response.status_code == 403
    assert snapshot(presented) == before
