"""Sign-in, sign-out and failures on heeded.security, with the actor and request id."""

from __future__ import annotations

import logging

import pytest

from lib.requestid import RequestIdFilter

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records():
    logger, handler = logging.getLogger("heeded.security"), _Records()
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def test_a_sign_in_is_logged_with_the_actor_and_the_request_id(client, admin, records):
    response = client.post(
        "/accounts/login/",
        {"login": "ADA@msp.example", "password": PASSWORD},
        REMOTE_ADDR="198.51.100.4",
    )

    assert response.status_code == 302
    [record] = [r for r in records if r.event == "login_succeeded"]
    assert record.getMessage() == (
        f'login_succeeded actor="user:{admin.pk}" address="198.51.100.4"'
    )
    assert record.actor == f"user:{admin.pk}"
    assert record.request_id == response["X-Request-ID"]


def test_a_failed_sign_in_names_the_account_tried_never_the_password(client, admin, records):
    response = client.post("/accounts/login/", {"login": "Ada", "password": "hunter2-Società"})

    [record] = records
    assert record.event == "login_failed"
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        f'login_failed actor="anonymous" account="user:{admin.pk}" address="127.0.0.1"'
    )
    assert "hunter2" not in repr(record.__dict__)
    assert record.request_id == response["X-Request-ID"]


def test_a_sign_out_is_logged(client, admin, records):
    client.force_login(admin)
    records.clear()

    response = client.post("/accounts/logout/")

    assert [(r.event, r.actor) for r in records] == [("logout", f"user:{admin.pk}")]
    assert records[0].request_id == response["X-Request-ID"]


def test_a_wrong_and_a_right_second_factor_are_logged(client, admin, records):
    from allauth.mfa.totp.internal.auth import TOTP

    from accounts.tests.totp import totp

    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    TOTP.activate(admin, secret)
    client.post("/accounts/login/", {"login": "ada", "password": PASSWORD})
    wrong = "000000" if totp(secret) != "000000" else "111111"
    client.post("/accounts/2fa/authenticate/", {"code": wrong})
    client.post("/accounts/2fa/authenticate/", {"code": totp(secret)})

    events = [(r.event, r.actor) for r in records]
    actor = f"user:{admin.pk}"
    assert events == [("mfa_failed", actor), ("mfa_used", actor), ("login_succeeded", actor)]
    assert records[0].getMessage().startswith(f'mfa_failed actor="{actor}" kind="totp"')
