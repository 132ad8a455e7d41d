"""The public answer page: every path, and that refusals change nothing."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.db import connection
from django.test import Client as HttpClient

from answers.models import AnswerLink, LinkAttempt, Submission
from answers.tests.conftest import links_in, mail_to
from followup.models import OutboxMessage
from ledger.models import Anchor, Event, Head
from lib import crypto
from recommendations.choices import Channel, Status
from recommendations.models import Recommendation, Response

PAGE_NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
ACCEPT = {
    "decision": "accepted",
    "planned_for": "2026-04-30",
    "typed_name": "Alice Rossi",
    "consent": "on",
}


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(PAGE_NOW, tick=False)


def _snapshot(rec: Recommendation) -> tuple:
    rec.refresh_from_db()
    return (
        rec.status,
        Response.objects.count(),
        Submission.objects.count(),
        AnswerLink.objects.filter(used_at__isnull=False).count(),
        Event.objects.count(),
        Anchor.objects.count(),
    )


def test_presenting_mails_each_decision_maker_a_link_and_a_reply_token(presented, contact_a):
    mail = mail_to(contact_a.email)
    link = AnswerLink.objects.get(contact=contact_a)
    assert links_in(mail) and mail.payload["html"].count("/answer/") == 1
    assert mail.payload["reply_to"] == [f"replies+{link.reply_token}@heeded.localhost"]
    assert link.text_sha256 == {str(presented.pk): presented.text_sha256}
    assert link.expires_at == presented.presented_at + dt.timedelta(days=30)
    # Only the hash of the token is kept.
    assert links_in(mail)[0] not in json.dumps(list(AnswerLink.objects.values()), default=str)


def test_the_page_shows_the_exact_text_and_logs_the_visit(client, token_a, presented):
    page = client.get(f"/answer/{token_a}/")
    assert page.status_code == 200
    assert presented.body in page.content.decode()
    assert presented.text_sha256 in page.content.decode()
    assert "I am authorised to decide for Acme Dental." in page.content.decode()
    assert page["Referrer-Policy"] == "no-referrer"
    assert "script-src 'none'" in page["Content-Security-Policy"]
    assert "style-src 'self'" in page["Content-Security-Policy"]
    assert LinkAttempt.objects.get().outcome == "shown"


def test_accepting_records_the_decision_with_its_evidence_and_a_receipt(
    client, token_a, presented, contact_a
):
    page = client.post(
        f"/answer/{token_a}/", ACCEPT, HTTP_USER_AGENT="TestBrowser/1", REMOTE_ADDR="127.0.0.9"
    )
    assert page.status_code == 200
    assert "your answer was recorded" in page.content.decode()
    presented.refresh_from_db()
    assert presented.status == Status.ACCEPTED
    response = Response.objects.get()
    assert (response.channel, response.responder, response.responder_name) == (
        Channel.SIGNED_LINK,
        contact_a,
        "Alice Rossi",
    )
    submission = Submission.objects.get()
    assert response.evidence_ref == f"submission:{submission.pk}"
    evidence = json.loads(crypto.decrypt(submission.payload_encrypted))
    assert evidence["ip"] == "127.0.0.9" and evidence["user_agent"] == "TestBrowser/1"
    assert evidence["text_sha256"] == presented.text_sha256
    assert evidence["consent"] == "I am authorised to decide for Acme Dental."
    assert evidence["form"]["planned_for"] == "2026-04-30"
    assert b"Alice" not in bytes(submission.payload_encrypted)
    anchor = Anchor.objects.get(purpose="answer confirmation")
    assert (anchor.seq, anchor.hash) == (
        Head.objects.get(client=presented.client).seq,
        Head.objects.get(client=presented.client).hash,
    )
    receipt = mail_to(contact_a.email, key_prefix="answer-confirmation:")
    assert anchor.hash in receipt.payload["text"]
    assert "Accepted, planned for 30 April 2026" in receipt.payload["text"]
    # Used: a second visit shows what was answered, and a second post changes nothing.
    before = _snapshot(presented)
    again = client.post(f"/answer/{token_a}/", {**ACCEPT, "planned_for": "2026-05-30"})
    assert "This link has already been used" in again.content.decode()
    assert "2026-04-30" in again.content.decode()
    assert _snapshot(presented) == before
    assert [a.outcome for a in LinkAttempt.objects.order_by("pk")] == ["answered", "used"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"typed_name": "Alice Rossi", "consent": "on"}, "Choose accept, defer or reject."),
        (
            {**ACCEPT, "planned_for": ""},
            "An accepted recommendation needs a planned implementation date.",
        ),
        (
            {**ACCEPT, "planned_for": "2026-03-01"},
            "The planned implementation date cannot be in the past.",
        ),
        (
            {**ACCEPT, "decision": "deferred", "deferred_until": "2026-09-01"},
            "A deferral needs a justification.",
        ),
        (
            {**ACCEPT, "decision": "deferred", "justification": "budget"},
            "A deferral needs the date it is deferred to.",
        ),
        ({**ACCEPT, "decision": "rejected"}, "A rejection needs a justification."),
        ({**ACCEPT, "typed_name": "  "}, "Type your full name."),
        ({**ACCEPT, "consent": ""}, "Confirm that you are authorised to decide for Acme Dental."),
        ({**ACCEPT, "planned_for": "not a date"}, "Check the dates you entered."),
    ],
)
def test_a_refused_answer_says_why_and_changes_nothing(client, token_a, presented, data, message):
    before = _snapshot(presented)
    page = client.post(f"/answer/{token_a}/", data)
    assert page.status_code == 400
    assert message in page.content.decode()
    assert _snapshot(presented) == before
    assert LinkAttempt.objects.get().outcome == "refused"
    assert not OutboxMessage.objects.filter(
        idempotency_key__startswith="answer-confirmation:"
    ).exists()


def test_a_tampered_link_shows_a_generic_page_and_changes_nothing(client, token_a, presented):
    before = _snapshot(presented)
    tampered = token_a[:-2] + ("AA" if token_a[-2:] != "AA" else "BB")
    for method in (client.get, client.post):
        page = (
            method(f"/answer/{tampered}/", ACCEPT)
            if method == client.post
            else method(f"/answer/{tampered}/")
        )
        assert page.status_code == 404
        assert "This link is not valid" in page.content.decode()
    assert _snapshot(presented) == before
    assert list(LinkAttempt.objects.values_list("outcome", "link")) == [("invalid", None)] * 2


def test_an_expired_link_explains_changes_nothing_and_sends_one_new_link(
    client, token_a, presented, contact_a, time_machine
):
    time_machine.move_to(presented.presented_at + dt.timedelta(days=30), tick=False)
    before = _snapshot(presented)
    page = client.post(f"/answer/{token_a}/", ACCEPT)
    assert page.status_code == 410 and "This link has expired" in page.content.decode()
    assert _snapshot(presented) == before
    assert "A new link is on its way" in client.post(f"/answer/{token_a}/renew/").content.decode()
    assert "No new link sent" in client.post(f"/answer/{token_a}/renew/").content.decode()
    new_mail = OutboxMessage.objects.filter(idempotency_key__contains=":resend:").get()
    assert new_mail.payload["to"] == [contact_a.email]
    fresh = links_in(new_mail)[0]
    assert client.get(f"/answer/{fresh}/").status_code == 200


def test_a_changed_text_is_refused(client, token_a, presented):
    Recommendation.objects.filter(pk=presented.pk).update(body="Something else entirely.")
    before = _snapshot(presented)
    page = client.post(f"/answer/{token_a}/", ACCEPT)
    assert page.status_code == 409
    assert "no longer matches what was presented" in page.content.decode()
    assert _snapshot(presented) == before


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_submissions_of_one_link_make_exactly_one_decision(token_a, presented):
    start = threading.Barrier(20)
    codes: list[int] = []

    def submit(day: int) -> None:
        try:
            start.wait()
            page = HttpClient().post(
                f"/answer/{token_a}/", {**ACCEPT, "planned_for": f"2026-04-{day:02d}"}
            )
            codes.append(page.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n + 1,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(codes) == 20
    assert Response.objects.count() == 1
    assert Submission.objects.count() == 1
    assert Event.objects.filter(kind="recommendation.accept").count() == 1
    assert LinkAttempt.objects.filter(outcome="answered").count() == 1
    assert LinkAttempt.objects.filter(outcome__in=["refused", "used"]).count() == 19
    assert LinkAttempt.objects.count() == 20


def test_an_italian_client_is_written_to_in_italian(client_b, contact_b, template_mfa, admin, now):
    from recommendations.services import recommendation_create, recommendation_present

    rec = recommendation_create(
        client=client_b, template_version=template_mfa, actor=admin, now=now
    )
    recommendation_present(recommendation=rec, actor=admin, now=now)
    mail = mail_to(contact_b.email)
    assert mail.payload["subject"].startswith("[Bravo Legal] Raccomandazione di sicurezza:")
    assert "Rispondete alla raccomandazione: http" in mail.payload["text"]
    assert "Gravità: Critica" in mail.payload["text"]
    # The reply examples follow the item's own deadline (critical: due 9 March).
    assert "ACCETTO 2026-04-08" in mail.payload["text"]
    assert "RINVIO 2026-06-07 motivo" in mail.payload["text"]
    assert '<html lang="it">' in mail.payload["html"]
    assert "Gravità: Critica" in mail.payload["html"]


def test_an_italian_client_answers_in_italian(
    client, client_b, contact_b, template_mfa, admin, now
):
    from recommendations.services import recommendation_create, recommendation_present

    rec = recommendation_create(
        client=client_b, template_version=template_mfa, actor=admin, now=now
    )
    recommendation_present(recommendation=rec, actor=admin, now=now)
    token = links_in(mail_to(contact_b.email))[0]
    page = client.get(f"/answer/{token}/").content.decode()
    assert '<html lang="it">' in page
    assert "La vostra decisione" in page and "Rifiuto" in page and "Critica" in page
    assert "Sono autorizzato a decidere per Bravo Legal." in page
    refused = client.post(
        f"/answer/{token}/", {"decision": "rejected", "typed_name": "Bob", "consent": "on"}
    )
    assert "Per rifiutare serve un motivo." in refused.content.decode()
    assert not Response.objects.exists()


def test_a_free_text_reference_to_a_submission_shows_nothing_of_another_client(
    client, token_a, presented, client_b, contact_b, template_mfa, admin, now
):
    # The probe: staff record a phone answer on client B's item and type, as its
    # evidence, the reference of client A's web submission. Client A's used-link page
    # follows foreign keys, never that text.
    from answers.selectors import link_answers
    from answers.services.staff import staff_answer_record
    from recommendations.services import recommendation_create, recommendation_present

    assert client.post(f"/answer/{token_a}/", ACCEPT).status_code == 200
    submission = Submission.objects.get()
    rec_b = recommendation_create(
        client=client_b, template_version=template_mfa, actor=admin, now=now, contact=contact_b
    )
    recommendation_present(recommendation=rec_b, actor=admin, now=now)
    other = staff_answer_record(
        recommendation=rec_b,
        decision="rejected",
        channel=Channel.PHONE,
        now=PAGE_NOW,
        recorded_by=admin,
        responder=contact_b,
        responder_name="Bob Bianchi",
        justification="Bravo keeps its own counsel",
        evidence_ref=f"submission:{submission.pk}",
    )
    assert isinstance(other, Response)
    link = AnswerLink.objects.get(pk=submission.link_id)
    shown = link_answers(link)
    assert [r.recommendation.client_id for r in shown["responses"]] == [presented.client_id]
    page = client.get(f"/answer/{token_a}/").content.decode()
    assert "This link has already been used" in page
    assert "Bob Bianchi" not in page and "Bravo" not in page


def test_the_migration_links_submissions_only_to_records_of_the_same_client_and_item(
    client, token_a, presented, client_b, contact_b, template_mfa, admin, now
):
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps

    from answers.services.staff import staff_answer_record
    from recommendations.services import recommendation_create, recommendation_present

    migration = import_module("answers.migrations.0005_submission_response_proposal")
    assert client.post(f"/answer/{token_a}/", ACCEPT).status_code == 200
    submission = Submission.objects.get()
    own = Response.objects.get()
    rec_b = recommendation_create(
        client=client_b, template_version=template_mfa, actor=admin, now=now, contact=contact_b
    )
    recommendation_present(recommendation=rec_b, actor=admin, now=now)
    staff_answer_record(
        recommendation=rec_b,
        decision="rejected",
        channel=Channel.PHONE,
        now=PAGE_NOW,
        recorded_by=admin,
        responder=contact_b,
        responder_name="Bob Bianchi",
        justification="Bravo keeps its own counsel",
        evidence_ref=f"submission:{submission.pk}",
    )
    # As before the keys existed: only the free text links them.
    Submission.objects.update(response=None, proposal=None)
    migration.fill(apps, SimpleNamespace(connection=connection))
    submission.refresh_from_db()
    assert (submission.response, submission.proposal) == (own, None)
