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


# --- refusals: denied access ------------------------------------------------------------


def _only(records, event):
    found = [r for r in records if r.event == event]
    assert len(found) == 1, [r.getMessage() for r in records]
    return found[0]


def test_a_page_of_a_client_out_of_scope_is_logged_as_denied(
    client, technician, client_b, security_events
):
    client.force_login(technician)
    security_events.clear()

    response = client.get(f"/clients/{client_b.pk}/", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 404
    record = _only(security_events, "access_denied")
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        f'access_denied actor="user:{technician.pk}" status="404" method="GET" '
        f'path="/clients/{client_b.pk}/" address="203.0.113.7"'
    )
    assert record.actor == f"user:{technician.pk}"
    assert record.request_id == response["X-Request-ID"]


def test_a_role_refusal_on_a_page_is_logged_as_denied(client, manager, client_a, security_events):
    client.force_login(manager)
    security_events.clear()

    form = {
        "tier": "Oro",
        "level2_after_days": "2",
        "level3_after_days": "3",
        "max_deferrals": "1",
        "rejection_review_months": "6",
        "weekly_weekday": "0",
    }
    response = client.post(f"/clients/{client_a.pk}/policy/", form)

    assert response.status_code == 403
    record = _only(security_events, "access_denied")
    assert (record.actor, record.fields["status"]) == (f"user:{manager.pk}", 403)
    assert record.request_id == response["X-Request-ID"]


def test_api_refusals_are_logged_as_denied_with_the_token_user(
    technician, client_b, now, security_events
):
    from rest_framework.test import APIClient

    from accounts.tokens import token_create

    api = APIClient()
    _, raw = token_create(user=technician, name="PSA sync", now=now)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    hidden = api.get(f"/api/v1/clients/{client_b.pk}/")
    refused = api.post("/api/v1/clients/", {"name": "Trattoria dell'Òca"}, format="json")

    assert (hidden.status_code, refused.status_code) == (404, 403)
    denied = [r for r in security_events if r.event == "access_denied"]
    assert [(r.actor, r.fields["status"], r.fields["path"]) for r in denied] == [
        (f"user:{technician.pk}", 404, f"/api/v1/clients/{client_b.pk}/"),
        (f"user:{technician.pk}", 403, "/api/v1/clients/"),
    ]
    assert [r.request_id for r in denied] == [hidden["X-Request-ID"], refused["X-Request-ID"]]


def test_anonymous_api_calls_are_not_denials_but_missing_credentials(client, security_events):
    response = client.get("/api/v1/clients/")

    assert response.status_code == 401
    assert [r.event for r in security_events] == []


def test_a_portal_contact_opening_another_clients_item_is_logged_by_contact(
    client, contact_b, presented, security_events
):
    from answers.views import PORTAL_SESSION_KEY

    session = client.session
    session[PORTAL_SESSION_KEY] = contact_b.pk
    session.save()

    response = client.get(f"/portal/recommendations/{presented.pk}/")

    assert response.status_code == 404
    record = _only(security_events, "access_denied")
    assert record.actor == f"contact:{contact_b.pk}"
    assert record.request_id == response["X-Request-ID"]


def test_a_request_cannot_forge_a_security_line():
    from django.test import RequestFactory

    from accounts.securityevents import access_denied

    request = RequestFactory().get("/")
    request.path = '/x"\r\n2026-01-01 INFO heeded.security: login_succeeded actor="user:1"\u2028'
    request.META["REMOTE_ADDR"] = "192.0.2.1"
    logger, handler = logging.getLogger("heeded.security"), _Records()
    logger.addHandler(handler)
    try:
        access_denied(request, 404)
    finally:
        logger.removeHandler(handler)

    [record] = handler.records
    line = record.getMessage()
    assert "\r" not in line and "\n" not in line and "\u2028" not in line
    assert line == (
        'access_denied actor="anonymous" status="404" method="GET" '
        'path="/x\\"\\r\\n2026-01-01 INFO heeded.security: login_succeeded '
        'actor=\\"user:1\\"\\u2028" address="192.0.2.1"'
    )


def test_a_bad_invitation_link_is_logged_without_its_token(client, security_events):
    response = client.get("/staff/welcome/MTIzNA/bogus-token-Ünïcode/")

    assert response.status_code == 404
    [record] = security_events
    assert record.getMessage() == (
        'link_refused actor="anonymous" kind="invitation" outcome="invalid" address="127.0.0.1"'
    )
    assert record.request_id == response["X-Request-ID"]
