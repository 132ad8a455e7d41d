"""Sessions end after HEEDED_SESSION_IDLE_MINUTES unused and HEEDED_SESSION_MAX_HOURS
after sign-in."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
START = dt.datetime(2026, 3, 2, 8, 0, 0, 123456, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def limits(settings):
    settings.HEEDED_SESSION_IDLE_MINUTES = 30
    settings.HEEDED_SESSION_MAX_HOURS = 8


def _sign_in(client) -> None:
    response = client.post("/accounts/login/", {"login": "marco", "password": PASSWORD})
    assert response.status_code == 302


def test_a_session_used_within_the_idle_limit_goes_on(client, manager):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        for _ in range(10):
            clock.shift(dt.timedelta(minutes=29))
            assert client.get("/").status_code == 200


def test_an_idle_session_ends_and_asks_to_sign_in_again(client, manager):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        clock.shift(dt.timedelta(minutes=30, seconds=1))
        response = client.get("/clients/?q=D%27Angelo")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fclients%2F%3Fq%3DD%2527Angelo"
    assert "_auth_user_id" not in client.session


def test_a_busy_session_still_ends_at_the_absolute_limit(client, manager):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        for _ in range(8 * 4 - 1):
            clock.shift(dt.timedelta(minutes=15))
            assert client.get("/").status_code == 200
        clock.shift(dt.timedelta(minutes=15, seconds=1))
        assert client.get("/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_an_expired_session_no_longer_works_on_the_api(client, manager):
    with time_machine.travel(START, tick=False) as clock:
        _sign_in(client)
        assert client.get("/api/v1/clients/").status_code == 200
        clock.shift(dt.timedelta(hours=1))
        assert client.get("/api/v1/clients/").status_code in {401, 403}


def test_the_cookie_lives_no_longer_than_the_absolute_limit(settings):
    from heeded import settings as production

    assert production.SESSION_COOKIE_AGE == production.HEEDED_SESSION_MAX_HOURS * 3600
