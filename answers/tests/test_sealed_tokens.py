"""No live answer-link or portal sign-in token is readable in the database or in a
backup: a queued e-mail holds a placeholder, the worker makes the token at delivery
from a stored nonce and the secret key, which lives only in the environment."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import tarfile
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.core import mail, serializers
from django.core.management import call_command
from django.db import connection

from answers.services.portal import portal_code_request
from followup.delivery import deliver_due
from followup.models import OutboxMessage
from lib import sealed
from recommendations.services import recommendation_create, recommendation_present

TOKEN_IN_URL = re.compile(r"/(?:answer|portal/sign-in)/([A-Za-z0-9_-]{20,})/")


def _present_and_deliver(client_a, contact_a, admin, now) -> list[str]:
    """Present two recommendations, ask for a portal sign-in, deliver everything;
    the tokens the sent e-mails carried."""
    for title in ("Turn on MFA for Sant'Ambrogio's VPN", "Replace the NAS — Università"):
        rec = recommendation_create(
            client=client_a, actor=admin, now=now, title=title, body="Why: …", severity="high"
        )
        recommendation_present(recommendation=rec, actor=admin, now=now)
    assert portal_code_request(email=contact_a.email, now=now) == 1
    mail.outbox.clear()
    while deliver_due(now=now + dt.timedelta(seconds=1), worker="test", limit=50):
        pass
    sent = [m.body for m in mail.outbox] + [
        alt[0] for m in mail.outbox for alt in getattr(m, "alternatives", [])
    ]
    tokens = sorted({t for body in sent for t in TOKEN_IN_URL.findall(body)})
    assert len(tokens) == 3, "two answer links and one sign-in link were sent"
    return tokens


def _every_row_as_text() -> str:
    chunks = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        chunks.append(serializers.serialize("json", model.objects.all()))
    return "\n".join(chunks)


@pytest.mark.django_db
def test_no_sent_token_is_anywhere_in_the_database(
    client, client_a, contact_a, admin, now, time_machine
):
    time_machine.move_to(now + dt.timedelta(minutes=5), tick=False)
    tokens = _present_and_deliver(client_a, contact_a, admin, now)
    dump = _every_row_as_text()
    assert [t for t in tokens if t in dump] == []
    # The queued e-mails hold placeholders, and the tokens they stand for work.
    queued = " ".join(m.payload["text"] for m in OutboxMessage.objects.filter(kind="email"))
    assert len(sealed.PLACEHOLDER.findall(queued)) == 3
    answer_token = next(
        t for t in tokens if f"/answer/{t}/" in " ".join(m.body for m in mail.outbox)
    )
    assert client.get(f"/answer/{answer_token}/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_no_sent_token_is_in_a_backup(client_a, contact_a, admin, now, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    (settings.DATA_DIR / "evidence").mkdir(parents=True)
    tokens = _present_and_deliver(client_a, contact_a, admin, now)
    archive = tmp_path / "backup.tar.gz"
    call_command("backup", str(archive))
    contents = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                data = tar.extractfile(member).read()
                if member.name.endswith(".gz"):
                    data = gzip.decompress(data)
                contents.append(data.decode("utf-8", errors="replace"))
    everything = "\n".join(contents)
    assert "OutboxMessage" in everything or "outboxmessage" in everything
    assert [t for t in tokens if t in everything] == []


def test_a_token_depends_on_the_secret_key_not_only_on_what_is_stored(settings):
    nonce = "0123456789abcdef0123456789abcdef"
    first = sealed.token_for("answer-link", nonce)
    settings.SECRET_KEY = "another installation's key, " + "x" * 40
    assert sealed.token_for("answer-link", nonce) != first
    assert sealed.expand(f"/answer/{sealed.placeholder('answer-link', nonce)}/") == (
        f"/answer/{sealed.token_for('answer-link', nonce)}/"
    )


@pytest.mark.django_db
def test_the_upgrade_redacts_tokens_left_in_sent_e_mails(now):
    from importlib import import_module

    migration = import_module("answers.migrations.0004_redact_sent_tokens")
    legacy = "Answer here: https://heeded.example/answer/Zx9_abcdefghijklmnopqrstuvwx-12345/ thanks"
    sent = OutboxMessage.objects.create(
        kind="email",
        idempotency_key="legacy-sent",
        payload={"to": ["a@example.com"], "subject": "s", "text": legacy, "html": legacy},
        status="sent",
        created_at=now,
    )
    waiting = OutboxMessage.objects.create(
        kind="email",
        idempotency_key="legacy-pending",
        payload={"to": ["a@example.com"], "subject": "s", "text": legacy, "html": ""},
        created_at=now,
    )
    migration.redact(apps, SimpleNamespace(connection=connection))
    sent.refresh_from_db()
    waiting.refresh_from_db()
    assert sent.payload["text"] == "Answer here: https://heeded.example/answer/[redacted]/ thanks"
    assert sent.payload["html"] == sent.payload["text"]
    assert waiting.payload["text"] == legacy
