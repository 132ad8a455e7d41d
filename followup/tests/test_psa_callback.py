"""The inbound PSA status callback: authenticated, fresh, idempotent."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from followup.models import PsaCallback, Ticket, TicketNote
from followup.sweep import sweep
from followup.webhooks import new_secret, sign

pytestmark = pytest.mark.django_db

URL = "/followup/psa/callback/"


@pytest.fixture
def secret(settings) -> str:
    settings.HEEDED_PSA_CALLBACK_SECRET = new_secret()
    return settings.HEEDED_PSA_CALLBACK_SECRET


@pytest.fixture
def ticket(presented, now) -> Ticket:
    sweep(now=now + dt.timedelta(days=8))
    return Ticket.objects.get()


def _post(client, secret, body: dict, *, msg_id="msg_1", at=None, signature=None):
    raw = json.dumps(body)
    stamp = int((at or timezone.now()).timestamp())
    headers = {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(stamp),
        "HTTP_WEBHOOK_SIGNATURE": signature
        or sign(secret=secret, msg_id=msg_id, timestamp=stamp, body=raw),
    }
    return client.post(URL, raw, content_type="application/json", **headers)


def test_a_signed_callback_closes_the_ticket_once(client, secret, ticket):
    body = {"external_id": f"heeded-ticket-{ticket.pk}", "status": "Complete", "note": "On site."}
    first = _post(client, secret, body)
    assert first.status_code == 200 and first.json() == {"ok": True, "duplicate": False}
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert ticket.notes.last().text == "PSA reports status 'Complete'. On site."
    notes = TicketNote.objects.count()

    again = _post(client, secret, body)
    assert again.json() == {"ok": True, "duplicate": True}
    assert TicketNote.objects.count() == notes and PsaCallback.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"signature": "v1,AAAA"}, "The signature does not match."),
        (
            {"at": timezone.now() - dt.timedelta(minutes=6)},
            "The webhook-timestamp is more than 5 minutes away from now.",
        ),
    ],
)
def test_an_unauthenticated_callback_is_refused_and_changes_nothing(
    client, secret, ticket, kwargs, message
):
    notes = TicketNote.objects.count()
    answer = _post(
        client, secret, {"external_id": f"heeded-ticket-{ticket.pk}", "status": "x"}, **kwargs
    )
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["message"] == message
    assert TicketNote.objects.count() == notes and not PsaCallback.objects.exists()


def test_a_callback_for_an_unknown_ticket_is_404(client, secret, ticket):
    answer = _post(client, secret, {"external_id": "heeded-ticket-999", "status": "new"})
    assert answer.status_code == 404
    assert (
        answer.json()["errors"][0]["message"]
        == "No ticket has the external id 'heeded-ticket-999'."
    )
    assert not PsaCallback.objects.exists()


def test_the_endpoint_is_off_without_a_secret(client, ticket):
    assert client.post(URL, "{}", content_type="application/json").status_code == 404
