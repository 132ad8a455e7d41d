"""Claim → deliver → record, against a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followup.choices import OutboxStatus
from followup.delivery import (
    BACKOFF,
    Msg,
    backoff_after,
    claim_due,
    deliver_claimed,
    deliver_due,
    deliver_one,
    due_messages,
)
from followup.models import DeliveryAttempt, OutboxMessage
from followup.services import message_id_for, outbox_enqueue, outbox_enqueue_email

pytestmark = pytest.mark.django_db


def _mail(now: dt.datetime, key: str = "test:1", **extra: object) -> OutboxMessage:
    fields: dict[str, object] = {
        "to": ["alice@acme-dental.example"],
        "subject": "Hello",
        "text": "Plain text body",
    }
    fields.update(extra)
    return outbox_enqueue_email(key=key, now=now, **fields)  # type: ignore[arg-type]


def _attempts(message: OutboxMessage) -> list[DeliveryAttempt]:
    return list(DeliveryAttempt.objects.filter(message=message).order_by("number", "id"))


# --- the happy path -------------------------------------------------------------


def test_a_presented_recommendation_is_mailed_once_with_its_message_id(presented, smtp, now):
    message = OutboxMessage.objects.get(recommendation=presented)

    results = deliver_due(now=now, worker="w1")

    assert [(r.ok, r.status, r.attempt) for r in results] == [(True, OutboxStatus.SENT, 1)]
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert (
        mail["Message-ID"]
        == message.payload["message_id"]
        == message_id_for(message.idempotency_key)
    )
    assert mail["To"] == "alice@acme-dental.example"
    assert mail["X-Heeded-Recommendation"] == str(presented.pk)
    assert presented.title in mail["Subject"]
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert message.sent_at is not None and message.sent_at >= now
    assert message.lease_until is None and message.next_attempt_at is None
    assert message.attempts == 1 and message.last_error == ""
    [attempt] = _attempts(message)
    assert (attempt.number, attempt.worker, attempt.ok, attempt.error) == (1, "w1", True, "")
    assert now <= attempt.started_at <= attempt.finished_at


def test_delivering_again_sends_nothing_more(presented, smtp, now):
    deliver_due(now=now, worker="w1")

    assert deliver_due(now=now + dt.timedelta(days=30), worker="w2") == []
    assert deliver_one(now=now + dt.timedelta(days=30), worker="w2") is False
    assert len(smtp.received) == 1
    assert DeliveryAttempt.objects.count() == 1


def test_a_message_is_not_delivered_before_it_is_due(smtp, now):
    _mail(now + dt.timedelta(minutes=5))

    assert deliver_due(now=now, worker="w1") == []
    assert smtp.received == []
    assert deliver_one(now=now + dt.timedelta(minutes=5), worker="w1") is True
    assert len(smtp.received) == 1


def test_html_reply_to_and_headers_travel_with_the_mail(smtp, now):
    message = _mail(
        now,
        html="<p>Rich <b>body</b></p>",
        reply_to=["replies@msp.example"],
        headers={"X-Heeded-Step": "reminder-1"},
    )

    deliver_due(now=now, worker="w1")

    [mail] = smtp.received
    assert mail["Message-ID"] == message.payload["message_id"]
    assert mail["Reply-To"] == "replies@msp.example"
    assert mail["X-Heeded-Step"] == "reminder-1"
    assert mail.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_payload(decode=True) for part in mail.walk()}
    assert parts["text/plain"].decode() == "Plain text body"
    assert b"Rich <b>body</b>" in parts["text/html"]


def test_an_email_with_the_inline_logo_and_a_file_nests_its_parts(
    smtp, now, settings, tmp_path, monkeypatch
):
    """mixed[related[alternative[text, html], logo], file]: the logo stays with the HTML
    (clients show it there, not as an attachment) and the file is the one attachment."""
    from followup.delivery import ATTACHMENT_SOURCES
    from followup.tests.test_notice_emails import _png

    logo = tmp_path / "rossi-figli.png"
    logo.write_bytes(_png())
    settings.HEEDED_MSP_LOGO = logo
    report = b"%PDF-1.4\n% Relazione trimestrale\n"
    monkeypatch.setitem(
        ATTACHMENT_SOURCES,
        "test-file",
        lambda ref: (
            f"Relazione Q{ref['id']} - Caffè Sant'Ambrogio.pdf",
            report,
            "application/pdf",
        ),
    )
    _mail(
        now,
        text="Buongiorno, in allegato la relazione.",
        html='<img src="cid:heeded-logo" alt="Rossi &amp; Figli"><p>In allegato la relazione.</p>',
        attachments=[{"source": "test-file", "id": 1}],
    )

    deliver_due(now=now, worker="w1")

    [mail] = smtp.received

    def shape(part):
        if part.is_multipart():
            return (part.get_content_type(), [shape(p) for p in part.get_payload()])
        return part.get_content_type()

    assert shape(mail) == (
        "multipart/mixed",
        [
            (
                "multipart/related",
                [("multipart/alternative", ["text/plain", "text/html"]), "image/png"],
            ),
            "application/pdf",
        ],
    )
    related, attached = mail.get_payload()
    image = related.get_payload()[1]
    assert image["Content-ID"] == "<heeded-logo>"
    assert image.get_content_disposition() == "inline"
    assert attached.get_content_disposition() == "attachment"
    assert attached.get_filename() == "Relazione Q1 - Caffè Sant'Ambrogio.pdf"
    assert attached.get_payload(decode=True) == report


def test_an_email_with_a_file_and_no_logo_is_mixed_around_its_alternatives(
    smtp, now, settings, monkeypatch
):
    from followup.delivery import ATTACHMENT_SOURCES

    settings.HEEDED_MSP_LOGO = None
    monkeypatch.setitem(
        ATTACHMENT_SOURCES, "test-file", lambda ref: ("report.pdf", b"%PDF-1.4", "application/pdf")
    )
    _mail(now, html="<p>Report attached.</p>", attachments=[{"source": "test-file", "id": 1}])

    deliver_due(now=now, worker="w1")

    [mail] = smtp.received
    assert [p.get_content_type() for p in mail.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ]


def test_messages_are_delivered_earliest_due_first(smtp, now):
    late = _mail(now - dt.timedelta(minutes=1), key="late")
    early = _mail(now - dt.timedelta(minutes=9), key="early")

    deliver_due(now=now, worker="w1")

    assert [m["Message-ID"] for m in smtp.received] == [
        early.payload["message_id"],
        late.payload["message_id"],
    ]


# --- failures, retries, giving up ---------------------------------------------------


def test_backoff_grows_then_stays_at_its_cap():
    assert [backoff_after(n) for n in range(1, 9)] == [
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=5),
        dt.timedelta(minutes=15),
        dt.timedelta(hours=1),
        dt.timedelta(hours=3),
        dt.timedelta(hours=12),
        dt.timedelta(hours=12),
        dt.timedelta(hours=12),
    ]


def test_a_refusing_server_is_retried_with_backoff_then_given_up_visibly(smtp, settings, now):
    smtp.reply = "550 5.7.1 Relaying denied"
    message = _mail(now)
    max_attempts = settings.HEEDED_OUTBOX_MAX_ATTEMPTS
    at = now

    for number in range(1, max_attempts + 1):
        [result] = deliver_due(now=at, worker="w1")
        message.refresh_from_db()
        attempt = _attempts(message)[-1]
        assert (result.ok, result.attempt, attempt.number, attempt.ok) == (
            False,
            number,
            number,
            False,
        )
        assert "550" in attempt.error and "Relaying denied" in attempt.error
        assert message.last_error == attempt.error
        assert message.attempts == number
        if number < max_attempts:
            assert message.status == OutboxStatus.PENDING
            assert message.next_attempt_at == attempt.finished_at + backoff_after(number)
            # Not retried before its time.
            assert (
                deliver_due(now=message.next_attempt_at - dt.timedelta(seconds=1), worker="w1")
                == []
            )
            at = message.next_attempt_at

    assert message.status == OutboxStatus.FAILED
    assert result.status == OutboxStatus.FAILED
    assert message.next_attempt_at is None and message.lease_until is None
    assert "Relaying denied" in message.last_error
    assert len(_attempts(message)) == max_attempts
    assert deliver_due(now=at + dt.timedelta(days=365), worker="w1") == []
    assert smtp.received == []


def test_a_server_that_is_down_loses_nothing(smtp, smtp_down, settings, now):
    message = _mail(now)

    [first] = deliver_due(now=now, worker="w1")
    [second] = deliver_due(now=now + BACKOFF[0] + dt.timedelta(seconds=1), worker="w1")

    assert not first.ok and not second.ok
    assert "ConnectionRefusedError" in first.error
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING and message.attempts == 2
    assert "ConnectionRefusedError" in message.last_error

    settings.EMAIL_PORT = smtp.port  # the server is back
    [third] = deliver_due(now=message.next_attempt_at, worker="w2")

    assert third.ok and third.attempt == 3
    assert [m["Message-ID"] for m in smtp.received] == [message.payload["message_id"]]
    assert [(a.number, a.ok) for a in _attempts(message)] == [(1, False), (2, False), (3, True)]


def test_a_server_that_stays_down_ends_in_failed_with_the_error(smtp_down, settings, now):
    settings.HEEDED_OUTBOX_MAX_ATTEMPTS = 3
    message = _mail(now)
    at = now

    for _ in range(3):
        deliver_due(now=at, worker="w1")
        message.refresh_from_db()
        at = message.next_attempt_at or at

    assert message.status == OutboxStatus.FAILED
    assert message.attempts == 3
    assert "ConnectionRefusedError" in message.last_error
    assert [a.ok for a in _attempts(message)] == [False, False, False]


def test_a_kind_without_a_handler_fails_visibly_and_is_retried(settings, now, monkeypatch):
    # As seen by a worker of a version that does not deliver PSA calls yet.
    from followup.delivery import HANDLERS

    monkeypatch.delitem(HANDLERS, "psa")
    settings.HEEDED_OUTBOX_MAX_ATTEMPTS = 2
    message = outbox_enqueue(kind="psa", key="psa:1", payload={"url": "x"}, now=now)
    expected = Msg.NO_HANDLER.format(kind="psa")

    [first] = deliver_due(now=now, worker="w1")
    message.refresh_from_db()

    assert (first.ok, first.error, message.status) == (False, expected, OutboxStatus.PENDING)
    assert message.last_error == expected

    [second] = deliver_due(now=message.next_attempt_at, worker="w1")
    message.refresh_from_db()

    assert (second.status, message.status, message.last_error) == (
        OutboxStatus.FAILED,
        OutboxStatus.FAILED,
        expected,
    )
    assert [a.error for a in _attempts(message)] == [expected, expected]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"to": [], "subject": "s", "text": "t", "message_id": "<a@b>"}, "at least one recipient"),
        ({"to": "bob@x.example", "subject": "s", "text": "t", "message_id": "<a@b>"}, "recipient"),
        ({"to": ["bob@x.example"], "text": "t", "message_id": "<a@b>"}, "a subject"),
        ({"to": ["bob@x.example"], "subject": "s", "text": "t"}, "a message_id"),
    ],
)
def test_a_malformed_email_is_given_up_at_once_and_nothing_is_sent(smtp, now, payload, error):
    message = outbox_enqueue(kind="email", key="bad:1", payload=payload, now=now)

    [result] = deliver_due(now=now, worker="w1")

    message.refresh_from_db()
    assert result.status == message.status == OutboxStatus.FAILED
    assert message.attempts == 1
    assert message.last_error.startswith("The e-mail payload needs ")
    assert error in message.last_error
    assert smtp.received == []


def test_a_header_with_a_line_break_is_refused_and_nothing_is_sent(smtp, now):
    message = _mail(now, headers={"X-Note": "hi\nBcc: victim@evil.example"})

    [result] = deliver_due(now=now, worker="w1")

    message.refresh_from_db()
    assert result.status == message.status == OutboxStatus.FAILED
    assert "BadHeaderError" in message.last_error
    assert smtp.received == []


# --- crashes and leases ------------------------------------------------------------


def test_a_worker_killed_mid_delivery_is_taken_over_with_the_same_message_id(
    presented, smtp, lease, now
):
    message = OutboxMessage.objects.get(recommendation=presented)
    [claimed] = claim_due(now=now, worker="dead", limit=10)
    assert claimed.pk == message.pk and claimed.status == OutboxStatus.SENDING
    # "dead" never delivers. Until its lease runs out nobody else touches the message.
    assert deliver_due(now=now + lease - dt.timedelta(seconds=1), worker="w2") == []

    [result] = deliver_due(now=now + lease + dt.timedelta(seconds=1), worker="w2")

    assert result.ok and result.attempt == 2
    assert [m["Message-ID"] for m in smtp.received] == [message.payload["message_id"]]
    message.refresh_from_db()
    assert (message.status, message.claimed_by, message.attempts) == (OutboxStatus.SENT, "w2", 2)
    lost, delivered = _attempts(message)
    assert (lost.number, lost.worker, lost.ok) == (1, "dead", False)
    assert lost.error.startswith("Worker dead stopped before recording the result")
    assert lost.started_at == now
    assert (delivered.number, delivered.worker, delivered.ok) == (2, "w2", True)


def test_a_worker_that_overran_its_lease_does_not_overwrite_the_result(smtp, lease, now):
    message = _mail(now)
    [stale] = claim_due(now=now, worker="slow", limit=1)
    later = now + lease + dt.timedelta(seconds=1)
    [taken_over] = deliver_due(now=later, worker="w2")
    assert taken_over.ok

    late_result = deliver_claimed(stale, now=later, worker="slow")

    # The receiver sees the same mail twice with one Message-ID and can drop the repeat.
    assert smtp.message_ids() == {message.payload["message_id"]: 2}
    assert late_result.claim_lost
    message.refresh_from_db()
    assert (message.status, message.claimed_by, message.attempts) == (OutboxStatus.SENT, "w2", 2)
    slow = DeliveryAttempt.objects.get(message=message, worker="slow", ok=True)
    assert Msg.CLAIM_LOST in slow.error


def test_a_late_failure_does_not_undo_another_workers_success(
    smtp, smtp_down, settings, lease, now
):
    settings.EMAIL_PORT = smtp.port
    message = _mail(now)
    [stale] = claim_due(now=now, worker="slow", limit=1)
    later = now + lease + dt.timedelta(seconds=1)
    deliver_due(now=later, worker="w2")
    settings.EMAIL_PORT = smtp_down

    late_result = deliver_claimed(stale, now=later, worker="slow")

    assert not late_result.ok and late_result.claim_lost
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT and message.last_error == ""


def test_crashing_on_the_last_allowed_attempt_gives_up_visibly(smtp, settings, lease, now):
    settings.HEEDED_OUTBOX_MAX_ATTEMPTS = 2
    message = _mail(now)
    claim_due(now=now, worker="dead-1", limit=1)
    claim_due(now=now + lease + dt.timedelta(seconds=1), worker="dead-2", limit=1)

    [result] = deliver_due(now=now + 2 * lease + dt.timedelta(seconds=2), worker="w3")

    message.refresh_from_db()
    assert result.status == message.status == OutboxStatus.FAILED
    assert message.last_error.startswith("Worker dead-2 stopped during the last allowed attempt")
    assert [(a.number, a.worker, a.ok) for a in _attempts(message)] == [
        (1, "dead-1", False),
        (2, "dead-2", False),
    ]
    assert smtp.received == []


def test_a_batch_puts_back_messages_whose_lease_ran_out_before_their_turn(smtp, lease, now):
    first = _mail(now, key="first")
    second = _mail(now, key="second")
    elapsed = {"seconds": 0.0}

    def slow_server() -> None:
        elapsed["seconds"] += lease.total_seconds() + 1

    smtp.on_receive = slow_server

    results = deliver_due(now=now, worker="w1", limit=2, clock=lambda: elapsed["seconds"])

    assert [r.message.pk for r in results] == [first.pk]
    second.refresh_from_db()
    assert (second.status, second.attempts, second.lease_until) == (OutboxStatus.PENDING, 0, None)
    assert not DeliveryAttempt.objects.filter(message=second).exists()
    assert [m["Message-ID"] for m in smtp.received] == [first.payload["message_id"]]


# --- cost: what is due, not what is stored --------------------------------------------


def _claim_queries(now: dt.datetime, worker: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        claim_due(now=now, worker=worker, limit=100)
    return len(ctx.captured_queries)


def test_claiming_costs_queries_per_due_message_not_per_stored_one(now):
    for i in range(3):
        _mail(now, key=f"due-a:{i}")
    alone = _claim_queries(now, "w1")
    for i in range(3):
        _mail(now, key=f"due-b:{i}")
    for i in range(40):
        _mail(now + dt.timedelta(hours=1), key=f"later:{i}")
    OutboxMessage.objects.filter(idempotency_key__startswith="later:").filter(
        idempotency_key__endswith="0"
    ).update(status=OutboxStatus.SENT)

    among_many = _claim_queries(now, "w2")

    assert among_many == alone
    assert _claim_queries(now, "w3") < alone  # nothing due: one read


def test_the_due_query_reads_through_the_partial_index(now):
    _mail(now)
    if connection.vendor == "sqlite":
        with CaptureQueriesContext(connection) as ctx:
            claim_due(now=now, worker="w1", limit=5)
        select = next(q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT"))
        assert "INDEXED BY outbox_due" in select
    else:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
        plan = due_messages(now)[:5].explain()
        assert "outbox_due" in plan
