"""Password reset by e-mail: through the outbox, no key at rest, no enumeration."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core import mail

from followup.delivery import deliver_due
from followup.models import OutboxMessage
from web.tests.conftest import PAGE_NOW

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "D'Angelo Società 2026!"
LINK = re.compile(r"http://\S+/accounts/password/reset/key/(\S+)/")


def _ask(client, email: str):
    return client.post("/accounts/password/reset/", {"email": email})


def _deliver() -> None:
    results = deliver_due(now=PAGE_NOW, worker="test-worker", limit=10)
    assert all(result.ok for result in results)


def _link() -> str:
    [message] = mail.outbox
    match = LINK.search(message.body)
    assert match, message.body
    return match[0]


def test_the_login_page_offers_a_reset(client):
    assert b'href="/accounts/password/reset/"' in client.get("/accounts/login/").content


def test_a_reset_mail_is_queued_and_carries_a_working_link(client, manager, settings):
    response = _ask(client, "MARCO@msp.example")
    assert response.status_code == 302
    assert mail.outbox == []  # queued, not sent from the page

    _deliver()
    link = _link()
    assert link.startswith(settings.HEEDED_BASE_URL)
    form = client.get(link.removeprefix(settings.HEEDED_BASE_URL), follow=True)
    assert form.status_code == 200
    assert b"Bad Token" not in form.content

    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    manager.refresh_from_db()
    assert manager.check_password(NEW_PASSWORD)


def test_the_queued_message_holds_no_usable_key(client, manager):
    _ask(client, "marco@msp.example")
    _deliver()
    key = _link().rstrip("/").rsplit("/", 1)[-1]

    stored = json.dumps(list(OutboxMessage.objects.values_list("payload", flat=True)))
    assert "[[heeded-reset:" in stored
    assert key not in stored
    assert key.split("-", 1)[1] not in stored


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, manager):
    known = _ask(client, "marco@msp.example")
    unknown = _ask(client, "nobody@msp.example")

    assert (unknown.status_code, unknown["Location"]) == (known.status_code, known["Location"])
    assert OutboxMessage.objects.count() == 1
    assert OutboxMessage.objects.get().payload["to"] == ["marco@msp.example"]


def test_a_malformed_address_is_refused_on_the_form(client, manager):
    response = _ask(client, "marco at msp")
    assert response.status_code == 200
    assert not OutboxMessage.objects.exists()


def test_an_expired_link_is_refused(client, manager, settings, time_machine):
    _ask(client, "marco@msp.example")
    _deliver()
    path = _link().removeprefix(settings.HEEDED_BASE_URL)

    time_machine.move_to(
        PAGE_NOW + dt.timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1), tick=False
    )
    page = client.get(path, follow=True)

    assert b"Bad Token" in page.content
    manager.refresh_from_db()
    assert not manager.check_password(NEW_PASSWORD)


def test_a_link_works_once(client, manager, settings):
    _ask(client, "marco@msp.example")
    _deliver()
    path = _link().removeprefix(settings.HEEDED_BASE_URL)
    form = client.get(path, follow=True)
    client.post(form.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    client.logout()

    again = client.get(path, follow=True)

    assert b"Bad Token" in again.content


def test_a_forged_key_is_refused(client, manager):
    page = client.get(f"/accounts/password/reset/key/{manager.pk}-abc-123/", follow=True)
    assert b"Bad Token" in page.content
