"""HashedTokenAuthentication on the API: missing, bad, revoked tokens; last_used_at."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.authentication import Msg
from accounts.models import ApiToken
from accounts.tokens import token_create, token_revoke

URL = "/api/v1/clients/"


def errors(response) -> list[tuple[str | None, str, str]]:
    return [(e["field"], e["code"], e["message"]) for e in response.json()["errors"]]


def get(header: str | None) -> object:
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(URL)


@pytest.fixture
def token(admin, now):
    return token_create(user=admin, name="rmm", now=now)


def test_a_request_without_credentials_is_asked_to_authenticate(db):
    response = get(None)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert errors(response) == [
        (None, "not_authenticated", "Authentication credentials were not provided.")
    ]


def test_a_valid_token_authenticates_its_user(token, client_a):
    response = get(f"Bearer {token[1]}")

    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == ["Acme Dental"]


def test_the_token_keyword_is_accepted_too(token, client_a):
    assert get(f"Token {token[1]}").status_code == 200


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer", Msg.MALFORMED),
        ("Bearer one two", Msg.MALFORMED),
        ("Bearer hd_thisisnotatokenthatexists0000000000000000000", Msg.INVALID),
        ("Bearer not-even-our-format", Msg.INVALID),
        ("Bearer hd_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", Msg.INVALID),
    ],
    ids=["no-token", "two-words", "unknown", "foreign", "not-ascii"],
)
def test_a_bad_token_is_refused(token, header, message):
    response = get(header)

    assert response.status_code == 401
    assert errors(response) == [(None, "authentication_failed", message)]


def test_a_revoked_token_is_refused(token, now):
    row, raw = token
    token_revoke(token=row, now=now)

    response = get(f"Bearer {raw}")

    assert response.status_code == 401
    assert errors(response) == [(None, "authentication_failed", Msg.INVALID)]


def test_the_token_of_a_disabled_account_is_refused(token, admin):
    admin.is_active = False
    admin.save()

    response = get(f"Bearer {token[1]}")

    assert response.status_code == 401
    assert errors(response) == [(None, "authentication_failed", Msg.INVALID)]


def test_other_schemes_are_left_to_the_session_and_refused(token):
    response = get("Basic YWRhOnNlY3JldA==")

    assert response.status_code == 401
    assert errors(response)[0][1] == "not_authenticated"


def test_last_used_at_is_written_at_most_once_a_minute(token, now):
    row, raw = token

    with time_machine.travel(now, tick=False):
        get(f"Bearer {raw}")
    with time_machine.travel(now + dt.timedelta(seconds=59), tick=False):
        get(f"Bearer {raw}")
    assert ApiToken.objects.get(pk=row.pk).last_used_at == now

    later = now + dt.timedelta(minutes=1)
    with time_machine.travel(later, tick=False):
        get(f"Bearer {raw}")
    assert ApiToken.objects.get(pk=row.pk).last_used_at == later


def test_a_failed_attempt_does_not_touch_last_used_at(token, now):
    row, raw = token
    token_revoke(token=row, now=now)

    get(f"Bearer {raw}")

    assert ApiToken.objects.get(pk=row.pk).last_used_at is None


def test_a_logged_in_browser_session_reads_but_must_send_the_csrf_token_to_write(admin):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin)

    assert client.get(URL).status_code == 200
    response = client.post(URL, {"name": "Foxtrot"}, format="json")
    assert response.status_code == 403
    assert errors(response)[0][2].startswith("CSRF Failed")
