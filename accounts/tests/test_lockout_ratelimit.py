"""allauth's own per-key limit on failed logins counts per account too.

allauth refuses a login after 5 failures for one key in 5 minutes. Its key was the
login string as typed; the adapter makes it the account and the client address, as
for the axes pair lock.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_failures_under_different_spellings_share_one_allauth_counter(client, admin, settings):
    settings.AXES_ENABLED = False  # only allauth's limit is under test here
    for i in range(5):
        client.post(
            "/accounts/login/",
            {"login": "ada@msp.example" if i % 2 else "ada", "password": "wrong"},
        )

    response = client.post("/accounts/login/", {"login": "ADA", "password": PASSWORD})

    assert response.status_code == 200
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_another_account_keeps_its_own_allauth_counter(client, admin, manager, settings):
    settings.AXES_ENABLED = False
    for _ in range(5):
        client.post("/accounts/login/", {"login": "ada", "password": "wrong"})

    response = client.post("/accounts/login/", {"login": "marco", "password": PASSWORD})

    assert response.status_code == 302


def test_failures_from_one_address_do_not_refuse_the_owner_elsewhere(client, admin, settings):
    settings.AXES_ENABLED = False
    for _ in range(5):
        client.post(
            "/accounts/login/", {"login": "ada", "password": "wrong"}, REMOTE_ADDR="192.0.2.10"
        )

    response = client.post(
        "/accounts/login/", {"login": "ada", "password": PASSWORD}, REMOTE_ADDR="198.51.100.20"
    )

    assert response.status_code == 302
