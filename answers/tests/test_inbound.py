"""Answers by e-mail, end to end: `heeded mail-in` and `heeded mail-poll` with real
DKIM signatures (fresh Ed25519 keys, DNS answered by a function), and every refusal."""

from __future__ import annotations

import base64
import datetime as dt
import io
import mailbox

import dkim
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.core.management import CommandError, call_command

from answers.choices import Outcome
from answers.errors import Msg as AnswersMsg
from answers.models import AnswerLink, InboundMessage, Proposal
from answers.selectors import review_queue_for
from answers.services.authority import authority_set
from answers.services.inbound import inbound_receive
from clients.services import contact_create
from followup.models import OutboxMessage
from heeded.testing import requires_postgres
from ledger.models import Anchor, Event
from lib import crypto
from recommendations.choices import Channel, Status
from recommendations.models import Recommendation, Response

PAGE_NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


class Key:
    def __init__(self, domain: str, selector: str = "s1") -> None:
        private = ed25519.Ed25519PrivateKey.generate()
        self.domain, self.selector = domain, selector
        self.seed = base64.b64encode(private.private_bytes_raw())
        public = base64.b64encode(private.public_key().public_bytes_raw()).decode()
        self.record = f"v=DKIM1; k=ed25519; p={public}".encode()

    def sign(self, message: bytes, *, headers: list[bytes] | None = None) -> bytes:
        return (
            dkim.sign(
                message,
                self.selector.encode(),
                self.domain.encode(),
                self.seed,
                signature_algorithm=b"ed25519-sha256",
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=headers,
            )
            + message
        )


ACME = Key("acme-dental.example")
EVIL = Key("evil.example")


def dns(name: bytes, timeout: int = 5) -> bytes | None:
    return {f"{k.selector}._domainkey.{k.domain}.".encode(): k.record for k in (ACME, EVIL)}.get(
        name
    )


@pytest.fixture(autouse=True)
def frozen(time_machine, settings):
    time_machine.move_to(PAGE_NOW, tick=False)
    settings.HEEDED_TRUSTED_AUTHSERV_ID = "mx.msp.example"


@pytest.fixture
def link(presented, contact_a) -> AnswerLink:
    return AnswerLink.objects.get(contact=contact_a)


def reply(
    to: str,
    body: str = "ACCEPT 2026-04-30\r\n\r\n> On Monday Heeded wrote:\r\n> REJECT quoted\r\n",
    *,
    sender: str = "Alice Rossi <alice@acme-dental.example>",
    extra: str = "",
    date: str = "Mon, 02 Mar 2026 11:00:00 +0100",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Re: Require MFA\r\n"
        f"Date: {date}\r\nMessage-ID: <r{abs(hash(body + to))}@acme>\r\n"
        f"{extra}\r\n{body}"
    ).encode()


def to(link: AnswerLink) -> str:
    return f"replies+{link.reply_token}@heeded.localhost"


def mail_in(raw: bytes) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("mail-in", stdin=io.BytesIO(raw), stdout=out)
    except SystemExit as exit_:
        return int(exit_.code), out.getvalue().strip()
    return 0, out.getvalue().strip()


def receive(raw: bytes) -> InboundMessage:
    return inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns).message


def test_a_signed_reply_is_recorded_with_its_evidence_and_a_receipt(link, presented, contact_a):
    raw = ACME.sign(reply(to(link)))
    result = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
    assert result.exit_code == 0
    assert result.line.startswith("recorded: Accept by alice@acme-dental.example")
    message = result.message
    assert crypto.decrypt(message.raw_encrypted) == raw
    assert (message.outcome, message.contact, message.recommendation) == (
        Outcome.RECORDED,
        contact_a,
        presented,
    )
    response = Response.objects.get()
    assert (response.channel, response.evidence_ref, response.planned_for) == (
        Channel.EMAIL,
        f"inbound:{message.pk}",
        dt.date(2026, 4, 30),
    )
    assert message.response == response
    assert Event.objects.filter(kind="answers.inbound", data__outcome="recorded").count() == 1
    anchor = Anchor.objects.get(reference=f"inbound:{message.pk}")
    receipt = OutboxMessage.objects.get(idempotency_key=f"answer-confirmation:inbound:{message.pk}")
    assert anchor.hash in receipt.payload["text"]
    # The same bytes again (a redelivery or a replay) count once.
    again = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
    assert (again.exit_code, again.message.pk) == (0, message.pk)
    assert "duplicate of inbound message" in again.line
    assert Response.objects.count() == 1 and InboundMessage.objects.count() == 1


def test_a_reply_matched_by_in_reply_to_counts_too(link, presented, contact_a):
    sent = OutboxMessage.objects.get(idempotency_key__startswith="present:")
    raw = ACME.sign(
        reply("replies@heeded.localhost", extra=f"In-Reply-To: {sent.payload['message_id']}\r\n")
    )
    assert receive(raw).outcome == Outcome.RECORDED
    presented.refresh_from_db()
    assert presented.status == Status.ACCEPTED


def test_the_trusted_servers_dmarc_result_counts(link, presented):
    raw = reply(
        to(link),
        "REJECT we accept the risk\r\n",
        extra="",
    )
    raw = (
        b"Authentication-Results: mx.msp.example; dmarc=pass header.from=acme-dental.example\r\n"
        + raw
    )
    assert receive(raw).outcome == Outcome.RECORDED
    assert Response.objects.get().justification == "we accept the risk"


def _unchanged(presented) -> None:
    presented.refresh_from_db()
    assert presented.status == Status.AWAITING_RESPONSE
    assert not Response.objects.exists()
    # Only the heads the e-mails carried were anchored, none for an answer.
    assert not Anchor.objects.exclude(purpose="client e-mail").exists()


@pytest.mark.parametrize(
    ("make", "code", "outcome", "reason"),
    [
        (lambda link: reply(to(link)), 3, "unverified", "is not authenticated"),
        (lambda link: EVIL.sign(reply(to(link))), 3, "unverified", ""),
        (
            lambda link: EVIL.sign(reply(to(link), sender="Mallory <ceo@evil.example>")),
            3,
            "unverified",
            "",
        ),
        (
            lambda link: ACME.sign(reply(to(link), sender="Eve <eve@acme-dental.example>")),
            3,
            "unverified",
            "eve@acme-dental.example is not an active contact of Acme Dental",
        ),
        (
            lambda link: ACME.sign(reply("replies@heeded.localhost")),
            2,
            "unmatched",
            "no reply token",
        ),
        (
            lambda link: ACME.sign(reply("replies+0123456789abcdef0123@heeded.localhost")),
            2,
            "unmatched",
            "",
        ),
        (lambda link: b"\x00\xff not mail at all", 2, "unmatched", ""),
        (lambda link: b"", 2, "unreadable", "the message could not be parsed"),
        (
            lambda link: ACME.sign(reply(to(link), "ACCEPT\r\n")),
            2,
            "unreadable",
            "ACCEPT needs a planned implementation date",
        ),
        (
            lambda link: ACME.sign(reply(to(link), "Thanks, will look at it.\r\n")),
            2,
            "unreadable",
            "The reply does not start a line with ACCEPT",
        ),
        (
            lambda link: ACME.sign(reply(to(link), "ACCEPT 2026-03-01\r\n")),
            2,
            "unreadable",
            "is in the past",
        ),
    ],
)
def test_a_message_that_does_not_count_is_kept_and_changes_nothing(
    link, presented, admin, make, code, outcome, reason
):
    raw = make(link)
    exit_code, line = mail_in(raw) if not raw.startswith(b"DKIM") else (None, None)
    if exit_code is None:  # signed messages need the test DNS, so skip the command here
        result = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
        exit_code, line = result.exit_code, f"inbound {result.message.pk} {result.line}"
    assert exit_code == code
    stored = InboundMessage.objects.get()
    assert line.startswith(f"inbound {stored.pk} {outcome}: ")
    assert reason in stored.reason
    assert crypto.decrypt(stored.raw_encrypted) == raw
    _unchanged(presented)
    assert stored in review_queue_for(admin)


def test_a_reply_from_a_contact_without_authority_is_a_proposal(
    link, presented, client_a, contact_a, admin, now
):
    carla = contact_create(
        client=client_a,
        name="Carla Verdi",
        email="carla@acme-dental.example",
        is_decision_maker=True,
        actor=admin,
        now=now,
    )
    authority_set(client=client_a, contact=contact_a, severities=["low"], actor=admin, now=now)
    authority_set(client=client_a, contact=carla, severities=["critical"], actor=admin, now=now)
    result = inbound_receive(raw=ACME.sign(reply(to(link))), now=PAGE_NOW, dnsfunc=dns)
    assert result.exit_code == 0 and result.message.outcome == Outcome.PROPOSAL
    assert Proposal.objects.get().routed_to == [carla.email]
    _unchanged_status = presented.status
    presented.refresh_from_db()
    assert presented.status == _unchanged_status == Status.AWAITING_RESPONSE


def test_mail_poll_reads_a_maildir_once(link, presented, tmp_path):
    box = mailbox.Maildir(tmp_path / "inbox", create=True)
    box.add(reply(to(link), "REJECT too costly\r\n"))
    box.add(b"garbage")
    out = io.StringIO()
    call_command("mail-poll", "--maildir", str(tmp_path / "inbox"), stdout=out)
    assert "read 2 messages (1 unmatched, 1 unverified)" in out.getvalue()
    assert all("S" in m.get_flags() for m in box)
    out = io.StringIO()
    call_command("mail-poll", "--maildir", str(tmp_path / "inbox"), stdout=out)
    assert out.getvalue().strip() == "read 0 messages (none)"
    assert InboundMessage.objects.count() == 2


def test_mail_poll_reads_unseen_imap_messages_and_marks_them_seen(
    link, presented, tmp_path, monkeypatch
):
    from answers.tests.imap_server import ImapServer, Mailbox

    box = Mailbox("replies", "s3cret", [reply(to(link), "REJECT too costly\r\n"), b"garbage"])
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    with ImapServer(box) as server:
        url = f"imap://replies@127.0.0.1:{server.port}/INBOX"
        out = io.StringIO()
        call_command("mail-poll", "--imap", url, "--password-file", str(password), stdout=out)
        assert "read 2 messages (1 unmatched, 1 unverified)" in out.getvalue()
        assert box.seen == {1, 2}
        out = io.StringIO()
        call_command("mail-poll", "--imap", url, "--password-file", str(password), stdout=out)
        assert out.getvalue().strip() == "read 0 messages (none)"
        password.write_text("wrong\n")
        with pytest.raises(Exception, match="invalid credentials"):
            call_command("mail-poll", "--imap", url, "--password-file", str(password))
    assert InboundMessage.objects.count() == 2
    monkeypatch.delenv("HEEDED_IMAP_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="set HEEDED_IMAP_PASSWORD or pass --password-file"):
        call_command("mail-poll", "--imap", url)


def test_a_reply_to_a_batch_mail_names_no_single_recommendation(
    client_a, contact_a, template_mfa, admin, now
):
    from answers.services.links import recommendations_present
    from recommendations.services import recommendation_create

    recs = [
        recommendation_create(client=client_a, template_version=template_mfa, actor=admin, now=now)
        for _ in range(2)
    ]
    recommendations_present(recommendations=recs, actor=admin, now=now)
    sent = OutboxMessage.objects.get(idempotency_key__startswith="present:batch:")
    by_reference = ACME.sign(
        reply("replies@heeded.localhost", extra=f"In-Reply-To: {sent.payload['message_id']}\r\n")
    )
    by_token = ACME.sign(reply(sent.payload["reply_to"][0], "REJECT no\r\n"))
    for raw in (by_reference, by_token):
        result = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
        assert result.exit_code == 2
        assert result.line == (
            "unmatched: a reply to several recommendations names none of them; "
            "answer with the links"
        )
    assert not Response.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_reply_delivered_concurrently_counts_once(link, presented):
    import threading

    from django.db import connection

    raw = ACME.sign(reply(to(link)))
    start = threading.Barrier(5)
    codes: list[int] = []

    def deliver() -> None:
        try:
            start.wait()
            codes.append(inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns).exit_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [0] * 5
    assert InboundMessage.objects.count() == 1 and Response.objects.count() == 1


def test_a_reply_to_a_text_changed_behind_the_services_back_is_refused(link, presented):
    # The stored hash still matches the link's; only hashing the current text again
    # shows that the client answered something else. The link and the portal refuse
    # this with the same rule and the same message.
    Recommendation.objects.filter(pk=presented.pk).update(body="Something else entirely.")
    result = inbound_receive(raw=ACME.sign(reply(to(link))), now=PAGE_NOW, dnsfunc=dns)
    assert (result.exit_code, result.message.outcome) == (2, Outcome.UNREADABLE)
    assert result.message.reason == f"refused: {AnswersMsg.TEXT_CHANGED}"
    _unchanged(presented)


# --- replays: a reply is what its signature covers, and it counts once ---------------


def _present_again(client_a, contact_a, template_mfa, admin, now) -> tuple:
    """A second recommendation presented to Alice, with its own link and reply token."""
    from recommendations.services import recommendation_create, recommendation_present

    rec = recommendation_create(
        client=client_a, template_version=template_mfa, actor=admin, now=now, contact=contact_a
    )
    recommendation_present(recommendation=rec, actor=admin, now=now)
    return rec, AnswerLink.objects.get(recommendations=rec, contact=contact_a)


def _refused(result, reason: str) -> InboundMessage:
    """The message was kept, went to review with ``reason`` and counted nothing."""
    message = result.message
    assert (result.exit_code, message.outcome) == (3, Outcome.UNVERIFIED)
    assert message.reason == reason
    assert message.response is None
    assert crypto.decrypt(message.raw_encrypted)
    return message


def test_a_replayed_reply_with_one_more_received_line_does_not_overturn_a_newer_answer(
    link, presented, contact_a, admin
):
    from answers.services.inbound import Replay
    from answers.services.staff import staff_answer_record

    raw = ACME.sign(reply(to(link)))
    first = receive(raw)
    assert first.outcome == Outcome.RECORDED
    staff_answer_record(
        recommendation=presented,
        decision="deferred",
        channel=Channel.PHONE,
        now=PAGE_NOW,
        recorded_by=admin,
        responder=contact_a,
        responder_name="Alice Rossi",
        deferred_until=dt.date(2026, 9, 30),
        justification="budget next quarter",
    )
    replay = b"Received: from relay.example by mx.msp.example; Mon, 2 Mar 2026\r\n" + raw
    result = inbound_receive(raw=replay, now=PAGE_NOW, dnsfunc=dns)
    _refused(result, Replay.MESSAGE_ID_SEEN.format(message_id=first.message_id, pk=first.pk))
    presented.refresh_from_db()
    assert presented.status == Status.DEFERRED
    assert Response.objects.count() == 2
    assert result.message.client == presented.client
    assert result.message in review_queue_for(admin)


def test_a_reply_trusted_by_authentication_results_counts_once_by_its_delivered_message_id(
    link, presented
):
    from answers.services.inbound import Replay

    raw = (
        b"Authentication-Results: mx.msp.example; dmarc=pass header.from=acme-dental.example\r\n"
        + reply(to(link), "REJECT we accept the risk\r\n")
    )
    first = receive(raw)
    assert first.outcome == Outcome.RECORDED
    result = inbound_receive(raw=b"X-Spam: no\r\n" + raw, now=PAGE_NOW, dnsfunc=dns)
    _refused(result, Replay.MESSAGE_ID_SEEN.format(message_id=first.message_id, pk=first.pk))
    assert Response.objects.count() == 1


def test_delivered_to_another_token_does_not_move_a_reply_to_another_recommendation(
    link, presented, client_a, contact_a, template_mfa, admin, now
):
    other, other_link = _present_again(client_a, contact_a, template_mfa, admin, now)
    raw = ACME.sign(reply(to(link)))
    assert receive(raw).outcome == Outcome.RECORDED
    moved = f"Delivered-To: {to(other_link)}\r\nX-Original-To: {to(other_link)}\r\n".encode()
    result = inbound_receive(raw=moved + raw, now=PAGE_NOW, dnsfunc=dns)
    assert result.message.recommendation == presented
    assert result.message.outcome == Outcome.UNVERIFIED
    other.refresh_from_db()
    assert other.status == Status.AWAITING_RESPONSE
    assert not Response.objects.filter(recommendation=other).exists()


def test_a_token_only_in_delivered_to_decides_nothing(link, presented):
    from answers.services.inbound import Replay

    raw = f"Delivered-To: {to(link)}\r\n".encode() + ACME.sign(reply("replies@heeded.localhost"))
    result = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
    _refused(result, Replay.TOKEN_NOT_SIGNED.format(token=link.reply_token))
    _unchanged(presented)


@pytest.mark.parametrize(
    ("signed", "reason"),
    [
        ([b"from", b"subject", b"date", b"message-id"], "TOKEN_NOT_SIGNED"),
        ([b"from", b"to", b"subject", b"date"], "MESSAGE_ID_NOT_SIGNED"),
        ([b"from", b"to", b"subject", b"message-id"], "DATE_NOT_SIGNED"),
    ],
)
def test_a_reply_whose_signature_leaves_out_what_identifies_it_decides_nothing(
    link, presented, signed, reason
):
    from answers.services.inbound import Replay

    result = inbound_receive(
        raw=ACME.sign(reply(to(link)), headers=signed), now=PAGE_NOW, dnsfunc=dns
    )
    _refused(result, getattr(Replay, reason).format(token=link.reply_token))
    _unchanged(presented)


def test_a_reply_with_a_reference_the_signature_does_not_cover_decides_nothing(link, presented):
    from answers.services.inbound import Replay

    sent = OutboxMessage.objects.get(idempotency_key__startswith="present:")
    raw = f"In-Reply-To: {sent.payload['message_id']}\r\n".encode() + ACME.sign(
        reply("replies@heeded.localhost")
    )
    result = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
    _refused(result, Replay.REFERENCE_NOT_SIGNED)
    _unchanged(presented)


def test_a_reply_without_a_message_id_decides_nothing(link, presented):
    from answers.services.inbound import Replay

    raw = reply(to(link)).replace(b"Message-ID: ", b"X-Message-ID: ")
    result = inbound_receive(raw=ACME.sign(raw), now=PAGE_NOW, dnsfunc=dns)
    _refused(result, Replay.MESSAGE_ID_MISSING)
    _unchanged(presented)


def test_a_reply_to_an_expired_link_decides_nothing(link, presented):
    from answers.services.inbound import Replay

    expired = PAGE_NOW - dt.timedelta(days=90)
    AnswerLink.objects.filter(pk=link.pk).update(expires_at=expired)
    result = inbound_receive(raw=ACME.sign(reply(to(link))), now=PAGE_NOW, dnsfunc=dns)
    _refused(result, Replay.LINK_EXPIRED.format(expired=expired.date().isoformat()))
    _unchanged(presented)


def test_a_reply_to_a_link_presented_again_since_decides_nothing(link, presented, contact_a):
    from answers.presentation import link_issue
    from answers.services.inbound import Replay

    newer = link_issue(contact=contact_a, recommendations=[presented], now=PAGE_NOW)
    result = inbound_receive(raw=ACME.sign(reply(to(link))), now=PAGE_NOW, dnsfunc=dns)
    _refused(result, Replay.SUPERSEDED_BY_NEWER_LINK.format(on=newer.created_at.date()))
    _unchanged(presented)


def test_a_reply_from_a_contact_who_has_answered_since_decides_nothing(
    link, presented, contact_a, admin, now
):
    from answers.services.inbound import Replay
    from answers.services.staff import staff_answer_record

    staff_answer_record(
        recommendation=presented,
        decision="deferred",
        channel=Channel.PHONE,
        now=now,
        recorded_by=admin,
        responder=contact_a,
        responder_name="Alice Rossi",
        deferred_until=dt.date(2026, 9, 30),
        justification="budget next quarter",
    )
    result = inbound_receive(raw=ACME.sign(reply(to(link))), now=PAGE_NOW, dnsfunc=dns)
    _refused(result, Replay.SUPERSEDED_BY_ANSWER.format(contact=contact_a.email))
    presented.refresh_from_db()
    assert presented.status == Status.DEFERRED


def test_an_older_message_never_overturns_a_newer_answer(link, presented, admin, now):
    from answers.services.inbound import Replay
    from answers.services.staff import staff_answer_record

    answer = staff_answer_record(
        recommendation=presented,
        decision="deferred",
        channel=Channel.PHONE,
        now=now,
        recorded_by=admin,
        responder_name="Front desk",
        deferred_until=dt.date(2026, 9, 30),
        justification="budget next quarter",
    )
    raw = ACME.sign(reply(to(link), date="Mon, 02 Mar 2026 09:30:00 +0100"))
    result = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
    _refused(
        result,
        Replay.OLDER_THAN_ANSWER.format(
            date="2026-03-02T08:30:00+00:00", recorded=answer.recorded_at.isoformat()
        ),
    )
    presented.refresh_from_db()
    assert presented.status == Status.DEFERRED


def test_every_replay_refusal_is_stated_in_the_docs():
    import re
    from pathlib import Path

    from django.conf import settings

    from answers.services.inbound import Replay

    docs = (Path(settings.BASE_DIR) / "docs" / "inbound-mail.md").read_text()
    sentences = {k: v for k, v in vars(Replay).items() if k.isupper()}
    assert len(sentences) == 11
    for name, sentence in sentences.items():
        for part in re.split(r"\{\w+\}", sentence):
            assert part.strip() in docs, name


@pytest.mark.django_db(transaction=True)
def test_one_reply_replayed_concurrently_in_other_bytes_counts_once(link, presented):
    import threading

    from django.db import connection

    raw = ACME.sign(reply(to(link)))
    start = threading.Barrier(5)
    codes: list[int] = []

    def deliver(hop: int) -> None:
        try:
            start.wait()
            copy = f"Received: from hop{hop}.example by mx.msp.example\r\n".encode() + raw
            codes.append(inbound_receive(raw=copy, now=PAGE_NOW, dnsfunc=dns).exit_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(hop,)) for hop in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [0, 3, 3, 3, 3]
    assert InboundMessage.objects.count() == 5 and Response.objects.count() == 1
    assert InboundMessage.objects.filter(reason__startswith="Message-ID <").count() == 4


def test_the_migration_keeps_a_replay_that_counted_before_and_marks_its_message_id(
    link, presented, client_a
):
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    migration = import_module("answers.migrations.0006_inbound_message_id_counts_once")
    rows = [
        InboundMessage.objects.create(
            received_at=PAGE_NOW,
            raw_encrypted=crypto.encrypt(raw_id.encode()),
            raw_sha256=f"{n:064x}",
            message_id=raw_id,
            client=client_a,
            outcome=Outcome.RECORDED,
        )
        for n, raw_id in enumerate(["<r1@acme>", " <r1@acme> ", "Re: <r2@acme>"])
    ]
    migration.normalise(apps, SimpleNamespace(connection=connection))
    assert [InboundMessage.objects.get(pk=r.pk).message_id for r in rows] == [
        "<r1@acme>",
        f"<r1@acme> (counted again; first counted as inbound {rows[0].pk})",
        "<r2@acme>",
    ]


@pytest.mark.parametrize("date", ["", "sometime next week"])
def test_a_reply_without_a_valid_date_decides_nothing(link, presented, date):
    from answers.services.inbound import Replay

    raw = reply(to(link), date=date)
    if not date:
        raw = raw.replace(b"Date: \r\n", b"")
    result = inbound_receive(raw=ACME.sign(raw), now=PAGE_NOW, dnsfunc=dns)
    _refused(result, Replay.DATE_MISSING)
    _unchanged(presented)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_of_two_concurrent_replies_an_older_one_never_overturns_the_answer_just_recorded(
    client_a, contact_a, template_mfa, admin, now, monkeypatch
):
    # Two decision makers reply at once, each to their own link. Each reply is judged
    # against the latest answer under the recommendation's lock, so the second to get
    # the lock sees the first's answer. Held together after their checks (the barrier),
    # two unlocked checks would both pass and both replies would count.
    import contextlib
    import threading

    from django.db import connection

    from answers.services import inbound
    from answers.services.inbound import Replay
    from recommendations.services import recommendation_create, recommendation_present

    bruno = contact_create(
        client=client_a,
        name="Bruno D'Angelo",
        email="bruno@acme-dental.example",
        is_decision_maker=True,
        actor=admin,
        now=now,
    )
    rec = recommendation_create(
        client=client_a, template_version=template_mfa, actor=admin, now=now, contact=contact_a
    )
    recommendation_present(recommendation=rec, actor=admin, now=now)
    alice_link = AnswerLink.objects.get(contact=contact_a, recommendations=rec)
    bruno_link = AnswerLink.objects.get(contact=bruno, recommendations=rec)
    dated = {
        "2026-03-02T09:58:00+00:00": ACME.sign(
            reply(to(alice_link), date="Mon, 02 Mar 2026 10:58:00 +0100")
        ),
        "2026-03-02T09:59:00+00:00": ACME.sign(
            reply(
                to(bruno_link),
                "DEFER 2026-09-30 budget next quarter\r\n",
                sender="Bruno D'Angelo <bruno@acme-dental.example>",
                date="Mon, 02 Mar 2026 10:59:00 +0100",
            )
        ),
    }
    both_checked = threading.Barrier(2, timeout=3)
    parse_reply = inbound.parse_reply

    def parse_once_both_are_checked(*args, **kwargs):
        # Broken after its timeout when the other reply waits for the lock instead.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_checked.wait()
        return parse_reply(*args, **kwargs)

    monkeypatch.setattr(inbound, "parse_reply", parse_once_both_are_checked)
    results: dict[str, object] = {}

    def deliver(date: str, raw: bytes) -> None:
        try:
            results[date] = inbound_receive(raw=raw, now=PAGE_NOW, dnsfunc=dns)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=item) for item in dated.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    answer = Response.objects.get(recommendation=rec)
    counted = [d for d, r in results.items() if r.message.outcome == Outcome.RECORDED]
    refused = [d for d, r in results.items() if r.message.outcome == Outcome.UNVERIFIED]
    assert (len(counted), len(refused)) == (1, 1)
    assert results[refused[0]].message.reason == Replay.OLDER_THAN_ANSWER.format(
        date=refused[0], recorded=answer.recorded_at.isoformat()
    )
    assert results[refused[0]].message.response is None
