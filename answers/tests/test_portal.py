"""The client portal: passwordless sign-in, one client's items only, answering."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from answers.models import PortalCode, Submission
from answers.views import PORTAL_SESSION_KEY
from followup.models import OutboxMessage
from lib import sealed
from recommendations.choices import Channel, Status
from recommendations.models import Response
from recommendations.services import recommendation_create, recommendation_present

PAGE_NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
SIGN_IN_RE = re.compile(r"/portal/sign-in/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(PAGE_NOW, tick=False)


def _request_link(client, email: str) -> str | None:
    page = client.post("/portal/sign-in/", {"email": email})
    assert "Check your inbox" in page.content.decode()
    mail = OutboxMessage.objects.filter(idempotency_key__startswith="portal-sign-in:").last()
    if mail is None:
        return None
    found = SIGN_IN_RE.search(sealed.expand(mail.payload["text"]))
    return found.group(1) if found else None


@pytest.fixture
def alice(client, contact_a):
    token = _request_link(client, "Alice@Acme-Dental.example")
    assert client.get(f"/portal/sign-in/{token}/").status_code == 200  # shows a button only
    assert PORTAL_SESSION_KEY not in client.session
    assert client.post(f"/portal/sign-in/{token}/").status_code == 302
    return client


def test_a_contact_signs_in_with_a_one_time_link(alice, contact_a):
    assert alice.session[PORTAL_SESSION_KEY] == contact_a.pk
    code = PortalCode.objects.get()
    assert code.used_at is not None and len(code.code_sha256) == 64


def test_a_sign_in_link_works_once_and_expires(client, contact_a, time_machine):
    token = _request_link(client, contact_a.email)
    time_machine.move_to(PAGE_NOW + dt.timedelta(minutes=15), tick=False)
    page = client.post(f"/portal/sign-in/{token}/")
    assert page.status_code == 400 and "not valid or has expired" in page.content.decode()
    assert PORTAL_SESSION_KEY not in client.session
    time_machine.move_to(PAGE_NOW, tick=False)
    token = _request_link(client, contact_a.email)
    assert client.post(f"/portal/sign-in/{token}/").status_code == 302
    client.post("/portal/sign-out/")
    assert client.post(f"/portal/sign-in/{token}/").status_code == 400


def test_sign_in_requests_are_rate_limited_and_say_nothing_about_the_address(client, contact_a):
    assert _request_link(client, "nobody@acme-dental.example") is None
    for _ in range(3):
        assert _request_link(client, contact_a.email)
    before = OutboxMessage.objects.count()
    _request_link(client, contact_a.email)
    assert OutboxMessage.objects.count() == before
    assert PortalCode.objects.count() == 3


def test_the_portal_needs_a_sign_in_and_ignores_a_staff_login(client, admin, presented):
    assert client.get("/portal/").status_code == 302
    client.force_login(admin)
    assert client.get("/portal/")["Location"] == "/portal/sign-in/"
    assert client.get(f"/portal/recommendations/{presented.pk}/").status_code == 302


def test_a_contact_sees_only_its_own_client(
    alice, presented, client_b, contact_b, template_mfa, admin, now
):
    other = recommendation_present(
        recommendation=recommendation_create(
            client=client_b, template_version=template_mfa, actor=admin, now=now
        ),
        actor=admin,
        now=now,
    )
    with CaptureQueriesContext(connection) as ctx:
        home = alice.get("/portal/").content.decode()
    assert presented.title in home
    assert len(ctx.captured_queries) <= 4  # session, contact, recommendations, no N+1
    assert alice.get(f"/portal/recommendations/{presented.pk}/").status_code == 200
    assert alice.get(f"/portal/recommendations/{other.pk}/").status_code == 404
    assert alice.post(f"/portal/recommendations/{other.pk}/", {}).status_code == 404
    assert other.status == Status.AWAITING_RESPONSE


def test_a_contact_answers_in_the_portal_and_sees_the_evidence(alice, presented, contact_a):
    url = f"/portal/recommendations/{presented.pk}/"
    refused = alice.post(url, {"decision": "rejected", "typed_name": "Alice", "consent": "on"})
    assert refused.status_code == 400
    assert "A rejection needs a justification." in refused.content.decode()
    assert not Response.objects.exists() and not Submission.objects.exists()
    done = alice.post(
        url,
        {
            "decision": "rejected",
            "justification": "No budget",
            "typed_name": "Alice Rossi",
            "consent": "on",
        },
    )
    assert done.status_code == 302
    response = Response.objects.get()
    assert (response.channel, response.responder) == (Channel.PORTAL, contact_a)
    page = alice.get(url).content.decode()
    assert "No budget" in page and f"Ledger entry #{response.ledger_seq}" in page
    assert 'id="answer-form"' in page  # a rejection may still be reconsidered


def test_an_italian_contact_reads_the_portal_in_italian(client, contact_b):
    token = _request_link(client, contact_b.email)
    client.post(f"/portal/sign-in/{token}/")
    page = client.get("/portal/").content.decode()
    assert '<html lang="it">' in page
    assert "Raccomandazioni di sicurezza per Bravo Legal" in page
    assert "Nulla attende una risposta." in page


def test_a_contact_may_defer_work_in_progress_as_staff_may(alice, presented, admin, now):
    # The table allows deferring or rejecting in_progress work; the portal used to ask
    # "may it be accepted?" and refused every answer to it.
    from recommendations.services import recommendation_start_work, response_record

    response_record(
        recommendation=presented,
        decision="accepted",
        channel=Channel.PHONE,
        now=now,
        recorded_by=admin,
        responder_name="Alice Rossi",
        planned_for=dt.date(2026, 4, 1),
    )
    recommendation_start_work(recommendation=presented, actor=admin, now=now)
    url = f"/portal/recommendations/{presented.pk}/"
    done = alice.post(
        url,
        {
            "decision": "deferred",
            "deferred_until": "2026-09-30",
            "justification": "Budget in autumn",
            "typed_name": "Alice Rossi",
            "consent": "on",
        },
    )
    assert done.status_code == 302, done.content.decode()
    presented.refresh_from_db()
    assert presented.status == Status.DEFERRED
