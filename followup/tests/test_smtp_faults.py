"""SMTP refusing, then down, then back (issue 14, "Faults"): the pages do not notice,
the outbox backs off, and once the loopback server answers again every queued message
is delivered exactly once. Runs on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from answers.tests.conftest import links_in, mail_to
from followup.choices import OutboxStatus
from followup.delivery import backoff_after, deliver_due
from followup.models import OutboxMessage
from followup.tests.support import closed_port

pytestmark = pytest.mark.django_db

ACCEPT = {
    "decision": "accepted",
    "planned_for": "2026-04-30",
    "typed_name": "Alice D'Angelo-Rossi",
    "consent": "on",
}


def _pages_work(browser, rec, token: str) -> None:
    """Staff pages, the client's answer page and the pages that send mail (a password
    reset, a portal sign-in link) answer as usual: they queue, they never wait on SMTP."""
    for path in ["/", "/recommendations/", f"/recommendations/{rec.pk}/", "/deliveries/"]:
        assert browser.get(path).status_code == 200, path
    assert browser.get(f"/answer/{token}/").status_code == 200
    stranger = Client()
    reset = stranger.post("/accounts/password/reset/", {"email": "ada@msp.example"})
    assert reset.status_code == 302
    portal = stranger.post("/portal/sign-in/", {"email": "alice@acme-dental.example"})
    assert portal.status_code == 200


def _pending() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(status=OutboxStatus.PENDING).order_by("pk"))


def test_smtp_refusing_then_down_leaves_pages_alone_and_drains_each_message_once(
    smtp, settings, client, admin, presented, contact_a, now, time_machine
):
    browser = client
    browser.force_login(admin)
    token = links_in(mail_to(contact_a.email))[0]
    at = now + dt.timedelta(minutes=1)
    time_machine.move_to(at, tick=False)

    # 1. The server refuses every message (greylisting, a full spool).
    smtp.reply = "451 4.3.2 Please try again later"
    _pages_work(browser, presented, token)
    queued = _pending()
    assert queued
    failed = deliver_due(now=at, worker="w1", limit=50)
    assert len(failed) == len(queued) and not any(r.ok for r in failed)
    assert all("451" in r.error for r in failed)
    for message in _pending():
        assert message.attempts == 1
        assert message.next_attempt_at >= at + backoff_after(1)
    # Backing off: nothing is tried again before its time.
    assert deliver_due(now=at + backoff_after(1) - dt.timedelta(seconds=1), worker="w1") == []

    # The client answers meanwhile: the page records it and queues the receipt.
    answered = browser.post(f"/answer/{token}/", ACCEPT)
    assert answered.status_code == 200
    assert len(_pending()) > len(queued)

    # 2. The server is down: nothing listens on its port.
    settings.EMAIL_PORT = closed_port()
    at = max(m.next_attempt_at for m in _pending())
    time_machine.move_to(at, tick=False)
    _pages_work(browser, presented, token)
    down = deliver_due(now=at, worker="w2", limit=50)
    assert down and not any(r.ok for r in down)
    assert all("ConnectionRefusedError" in r.error for r in down)
    assert smtp.received == []

    # 3. Back: every pending message is delivered once, by whichever worker.
    settings.EMAIL_PORT = smtp.port
    smtp.reply = "250 OK: queued"
    for step in range(10):
        pending = _pending()
        if not pending:
            break
        at = max(at, *(m.next_attempt_at for m in pending))
        deliver_due(now=at, worker=f"w{3 + step % 2}", limit=50)
    assert _pending() == []

    statuses = set(OutboxMessage.objects.values_list("status", flat=True))
    assert statuses == {OutboxStatus.SENT}
    expected = {m.payload["message_id"] for m in OutboxMessage.objects.all()}
    assert set(smtp.message_ids()) == expected
    assert set(smtp.message_ids().values()) == {1}
    # Later passes send nothing again.
    assert deliver_due(now=at + dt.timedelta(days=2), worker="w5", limit=50) == []
    assert len(smtp.received) == len(expected)
