"""A recommendation's text is in the client's language: from a template version it
takes the version's text in that language (English when the version has none, and it
says so); ad hoc, staff write it in either language. The text hash is of that text,
the one the answer page shows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from answers.tests.conftest import links_in, mail_to
from catalog.services import template_create
from ledger.models import Event
from recommendations.models import Recommendation, snapshot_sha256
from recommendations.services import recommendation_create, recommendation_present

pytestmark = pytest.mark.django_db

PAGE_NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def bilingual(admin, now):
    return template_create(
        key="backup-restore-test",
        title="Test restores every quarter and record the results",
        body="Once a quarter restore a sample of files, one VM and one mailbox.",
        risk_if_ignored="Backups that were never restored tend to fail when needed.",
        title_it="Provare i ripristini ogni trimestre e registrarne l'esito",
        body_it="Una volta a trimestre ripristinare un campione di file, una VM e una casella.",
        risk_if_ignored_it="I backup mai ripristinati tendono a fallire proprio quando servono.",
        category="backup",
        default_severity="high",
        now=now,
        actor=admin,
    )


def test_an_italian_client_gets_the_italian_text_and_its_hash(client_b, bilingual, admin, now):
    rec = recommendation_create(client=client_b, template_version=bilingual, actor=admin, now=now)

    assert rec.language == "it"
    assert (rec.title, rec.body, rec.risk_if_ignored) == (
        bilingual.title_it,
        bilingual.body_it,
        bilingual.risk_if_ignored_it,
    )
    assert rec.text_sha256 == snapshot_sha256(
        title=bilingual.title_it,
        body=bilingual.body_it,
        risk_if_ignored=bilingual.risk_if_ignored_it,
    )
    event = Event.objects.get(recommendation_id=rec.pk, kind="recommendation.created")
    assert event.data["language"] == "it" and event.data["text_sha256"] == rec.text_sha256


def test_an_english_client_gets_the_english_text(client_a, bilingual, admin, now):
    rec = recommendation_create(client=client_a, template_version=bilingual, actor=admin, now=now)

    assert (rec.language, rec.title) == ("en", bilingual.title)


def test_a_version_without_italian_gives_an_italian_client_the_english_and_records_it(
    client_b, template_mfa, admin, now
):
    rec = recommendation_create(
        client=client_b, template_version=template_mfa, actor=admin, now=now
    )

    assert (rec.language, rec.title) == ("en", template_mfa.title)


def test_the_answer_page_shows_the_italian_text_with_the_hash_it_was_presented_with(
    client, client_b, contact_b, bilingual, admin, now, time_machine
):
    rec = recommendation_create(
        client=client_b, template_version=bilingual, actor=admin, now=now, contact=contact_b
    )
    recommendation_present(recommendation=rec, actor=admin, now=now)
    token = links_in(mail_to(contact_b.email))[0]
    time_machine.move_to(PAGE_NOW, tick=False)

    page = client.get(f"/answer/{token}/").content.decode()

    assert bilingual.title_it.replace("'", "&#x27;") in page
    assert bilingual.body_it in page
    assert bilingual.title not in page
    assert rec.text_sha256 in page
    assert rec.text_sha256 == snapshot_sha256(
        title=bilingual.title_it,
        body=bilingual.body_it,
        risk_if_ignored=bilingual.risk_if_ignored_it,
    )


def test_staff_write_an_ad_hoc_recommendation_in_italian(client_a, admin, now):
    rec = recommendation_create(
        client=client_a,
        title="Separare la rete delle macchine CNC dalla rete degli uffici",
        body="Spostare le macchine CNC su una VLAN di produzione.",
        severity="high",
        language="it",
        actor=admin,
        now=now,
    )

    assert rec.language == "it"
    assert rec.text_sha256 == snapshot_sha256(title=rec.title, body=rec.body, risk_if_ignored="")


def test_an_ad_hoc_text_is_in_the_clients_language_by_default(client_b, admin, now):
    rec = recommendation_create(
        client=client_b,
        title="Cifrare i portatili",
        body="Attivare BitLocker.",
        severity="low",
        actor=admin,
        now=now,
    )

    assert rec.language == "it"


def test_an_unknown_language_is_refused_with_the_other_errors_and_nothing_is_stored(
    client_a, admin, now
):
    events = Event.objects.count()
    with pytest.raises(ValidationError) as refused:
        recommendation_create(
            client=client_a,
            title="",
            body="Verschlüsseln Sie die Laptops.",
            severity="low",
            language="de",
            actor=admin,
            now=now,
        )

    assert refused.value.message_dict == {
        "language": ["Language must be one of en, it."],
        "title": ["A recommendation needs a title."],
    }
    assert not Recommendation.objects.exists()
    assert Event.objects.count() == events
