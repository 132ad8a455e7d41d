"""A refusal speaks the language the API client asks for; English by default."""

from __future__ import annotations

import pytest

from recommendations.lifecycle import Msg

pytestmark = pytest.mark.django_db


def test_a_refusal_is_english_by_default_and_italian_on_request(api, admin, draft):
    url = f"/api/v1/recommendations/{draft.pk}/withdraw/"
    english = api(admin).post(url, {"reason": " "}, format="json")
    assert english.status_code == 400
    assert english.json()["errors"][0]["message"] == Msg.WITHDRAW_REASON_REQUIRED
    italian = api(admin).post(url, {"reason": " "}, format="json", HTTP_ACCEPT_LANGUAGE="it")
    assert italian.status_code == 400
    assert italian.json()["errors"][0] == {
        "field": "reason",
        "code": "required",
        "message": "Per ritirare una raccomandazione serve un motivo.",
    }
