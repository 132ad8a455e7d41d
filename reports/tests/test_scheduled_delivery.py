"""Scheduled report delivery: the schedule's service, the worker's job, the PDF
attached to one e-mail through the outbox, once, even when a worker is killed."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal

import pytest
from django.utils import timezone

from followup.delivery import deliver_due
from followup.jobs import job_claim
from followup.models import JobRun, OutboxMessage
from followup.tests.conftest import smtp  # noqa: F401  (the loopback SMTP fixture)
from followup.tests.support import (
    EVENT_TIMEOUT,
    child_env,
    database_url_of_this_run,
    heeded,
    start,
    stop,
)
from lib.errors import NotAllowed, ServiceError
from reports.jobs import SCHEDULE_JOB
from reports.models import DeliveredReport, ReportSchedule
from reports.services import report_schedule_set, scheduled_reports_deliver

from .test_pdf import text_of

# 1 April 2026, 06:00 in Rome: March and the first quarter are complete.
APRIL_1 = dt.datetime(2026, 4, 1, 4, 0, 0, 431_007, tzinfo=dt.UTC)


def _schedule(client, contacts, actor, *, now, **kinds):
    schedule = report_schedule_set(
        client=client,
        monthly=kinds.get("monthly", True),
        quarterly=kinds.get("quarterly", True),
        open_risks=kinds.get("open_risks", True),
        contact_ids=[c.pk for c in contacts],
        to_account_owner=kinds.get("to_account_owner", True),
        actor=actor,
        now=now,
    )
    return schedule


def _pdf_parts(message):
    return [
        part for part in message.iter_attachments() if part.get_content_type() == "application/pdf"
    ]


# --- the schedule's service ----------------------------------------------------------


def test_setting_a_schedule_is_a_ledger_event_and_starts_on_its_day(
    client_a, contact_a, manager, now
):
    schedule = _schedule(client_a, [contact_a], manager, now=now)

    assert schedule.starts_on == now.astimezone(client_a.tz).date()
    assert list(schedule.contacts.all()) == [contact_a]
    from ledger.models import Event

    event = Event.objects.get(kind="report.schedule_set")
    assert event.data["after"]["contacts"] == [contact_a.pk]
    assert event.data["before"] is None


def test_a_contact_of_another_client_is_refused_naming_the_field(
    client_a, client_b, contact_a, contact_b, admin, now
):
    with pytest.raises(ServiceError) as refused:
        _schedule(client_a, [contact_a, contact_b], admin, now=now)

    assert refused.value.field == "contacts"
    assert str(contact_b.pk) in refused.value.message
    assert not ReportSchedule.objects.exists()


def test_a_schedule_without_any_recipient_is_refused(client_a, admin, now):
    with pytest.raises(ServiceError) as refused:
        _schedule(client_a, [], admin, now=now, to_account_owner=False)

    assert refused.value.field == "contacts"


def test_an_auditor_may_not_set_a_schedule(client_a, contact_a, auditor, now):
    with pytest.raises(NotAllowed):
        _schedule(client_a, [contact_a], auditor, now=now)
    assert not ReportSchedule.objects.exists()


# --- what is due ---------------------------------------------------------------------


def test_nothing_is_sent_for_periods_that_ended_before_the_schedule(client_a, contact_a, admin):
    _schedule(client_a, [contact_a], admin, now=dt.datetime(2026, 3, 20, 9, tzinfo=dt.UTC))

    # On 1 April: March (monthly, open risks) and Q1 end after 20 March: all three.
    delivered = scheduled_reports_deliver(now=APRIL_1)
    assert sorted((r.kind, r.period_label) for r in delivered) == [
        ("open_risks", "2026-03"),
        ("qbr", "2026-03"),
        ("qbr", "2026-Q1"),
    ]
    # Later the same month nothing more is due; February was never owed.
    assert scheduled_reports_deliver(now=APRIL_1 + dt.timedelta(days=5)) == []
    assert not DeliveredReport.objects.filter(period_label="2026-02").exists()


def test_each_report_is_stored_once_with_its_hash_and_one_email(client_a, contact_a, admin, now):
    _schedule(client_a, [contact_a], admin, now=now, quarterly=False, open_risks=False)

    [report] = scheduled_reports_deliver(now=APRIL_1)
    assert scheduled_reports_deliver(now=APRIL_1) == []

    assert report.channel == "schedule" and report.format == "pdf"
    assert report.sha256 == hashlib.sha256(bytes(report.content)).hexdigest()
    [mail] = OutboxMessage.objects.all()
    assert mail.idempotency_key == report.schedule_key
    # The outbox holds a reference, not the file.
    assert mail.payload["attachments"] == [{"source": "delivered_report", "id": report.pk}]
    assert sorted(mail.payload["to"]) == sorted([contact_a.email, admin.email])
    assert report.anchor.hash in mail.payload["text"]


def test_the_pdf_arrives_attached_byte_for_byte(smtp, client_a, contact_a, admin, now):  # noqa: F811
    _schedule(client_a, [contact_a], admin, now=now, monthly=False, quarterly=False)
    [report] = scheduled_reports_deliver(now=APRIL_1)

    [result] = deliver_due(now=APRIL_1, worker="w-test")

    assert result.ok, result.error
    [received] = smtp.received
    [pdf] = _pdf_parts(received)
    assert pdf.get_filename() == report.filename
    assert pdf.get_content() == bytes(report.content)
    assert "Open risks" in received["Subject"]


def test_an_italian_client_gets_its_open_risks_report_in_italian(
    smtp,  # noqa: F811
    client_b,
    contact_b,
    admin,
    now,
    tmp_path,
):
    _schedule(client_b, [contact_b], admin, now=now, monthly=False, quarterly=False)
    [report] = scheduled_reports_deliver(now=APRIL_1)
    assert report.kind == "open_risks"

    [result] = deliver_due(now=APRIL_1, worker="w-test")

    assert result.ok, result.error
    [received] = smtp.received
    assert received["Subject"] == "Report dei rischi aperti 2026-03: Bravo Legal"
    body = received.get_body(preferencelist=("plain",)).get_content()
    assert "In allegato il documento «Report dei rischi aperti» di Bravo Legal" in body
    assert f"registro delle evidenze com'era alla voce {report.anchor.seq}." in body
    assert report.anchor.hash in body
    assert f"--anchor {client_b.slug}:{report.anchor.seq}:{report.anchor.hash}" in body
    # Branded like every client e-mail: an HTML part with the MSP's layout and button.
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "Report dei rischi aperti 2026-03: Bravo Legal" in html
    assert "/portal/sign-in/" in html and report.sha256 in html
    # The attached PDF is in Italian too.
    [pdf] = _pdf_parts(received)
    path = tmp_path / pdf.get_filename()
    path.write_bytes(pdf.get_content())
    assert "Rischi aperti: Bravo Legal" in " ".join(text_of(path).split())


def test_a_job_taken_over_after_its_report_was_stored_sends_nothing_twice(
    client_a, contact_a, admin, now
):
    _schedule(client_a, [contact_a], admin, now=now, quarterly=False, open_risks=False)
    # A worker claimed the day's run, stored the report with its e-mail, then died.
    period = "2026-04-01T04:00"
    run = job_claim(job=SCHEDULE_JOB, period=period, now=APRIL_1, worker="dead")
    assert run is not None
    scheduled_reports_deliver(now=APRIL_1)

    later = APRIL_1 + dt.timedelta(hours=1)
    taken = job_claim(job=SCHEDULE_JOB, period=period, now=later, worker="alive")
    assert taken is not None and taken.attempts == 2
    assert scheduled_reports_deliver(now=later) == []
    assert DeliveredReport.objects.count() == 1 and OutboxMessage.objects.count() == 1


# --- real processes -------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_sending_the_report_leaves_one_mail_with_the_pdf(
    smtp,  # noqa: F811
    client_a,
    contact_a,
    admin,
):
    # The worker reads the real clock: the schedule started long before last month.
    real_now = timezone.now()
    _schedule(client_a, [contact_a], admin, now=real_now, quarterly=False, open_risks=False)
    ReportSchedule.objects.update(starts_on=dt.date(2000, 1, 1))
    env = child_env(
        DATABASE_URL=database_url_of_this_run(),
        HEEDED_EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}?timeout=60",
        HEEDED_WORKER_IDLE_SECONDS="1",
        HEEDED_OUTBOX_LEASE_SECONDS="5",
    )
    smtp.gate = True
    first = start([*heeded(), "worker", "--worker-id", "w-killed"], env=env)
    try:
        first.wait_for("job: scheduled-reports")
        assert smtp.entered.wait(EVENT_TIMEOUT), first.text()
        os.kill(first.process.pid, signal.SIGKILL)
        assert first.process.wait(EVENT_TIMEOUT) == -signal.SIGKILL
    finally:
        stop(first)
    # The killed worker's SMTP session never finished its DATA: nothing arrived.
    smtp.gate = False
    assert smtp.received == []

    second = start([*heeded(), "worker", "--worker-id", "w-second"], env=env)
    try:
        second.wait_for("outbox: sent email", timeout=EVENT_TIMEOUT * 2)
        os.kill(second.process.pid, signal.SIGTERM)
        assert second.process.wait(EVENT_TIMEOUT) == 0
        text = second.rest()
    finally:
        stop(second)

    # The job ran once (its day was claimed and finished by the first worker).
    assert "job: scheduled-reports" not in text
    [report] = DeliveredReport.objects.all()
    # (A second run exists only if the clock crossed an hour meanwhile; it found the
    # report stored and made nothing.)
    run = JobRun.objects.filter(job=SCHEDULE_JOB).order_by("started_at").first()
    assert run is not None and run.finished_at is not None and run.claimed_by == "w-killed"
    [received] = smtp.received
    [pdf] = _pdf_parts(received)
    assert pdf.get_content() == bytes(report.content)
    [mail] = OutboxMessage.objects.all()
    assert mail.attempts == 2 and mail.status == "sent"


@pytest.mark.django_db
def test_an_attachment_that_is_gone_gives_up_and_an_unknown_source_is_retried(
    smtp,  # noqa: F811
):
    from followup.services import outbox_enqueue_email

    gone = outbox_enqueue_email(
        key="gone",
        to=["alice@acme-dental.example"],
        subject="Report",
        text="t",
        now=APRIL_1,
        attachments=[{"source": "delivered_report", "id": 987654}],
    )
    unknown = outbox_enqueue_email(
        key="unknown",
        to=["alice@acme-dental.example"],
        subject="Report",
        text="t",
        now=APRIL_1 + dt.timedelta(seconds=1),
        attachments=[{"source": "from-a-newer-version", "id": 1}],
    )

    results = deliver_due(now=APRIL_1 + dt.timedelta(minutes=1), worker="w-test")

    by_id = {r.message.pk: r for r in results}
    assert by_id[gone.pk].status == "failed" and "no longer exists" in by_id[gone.pk].error
    assert by_id[unknown.pk].status == "pending"
    assert "from-a-newer-version" in by_id[unknown.pk].error
    assert smtp.received == []
