"""``heeded worker``: in-process for its output, as a real process for its signals."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal

import pytest
from django.core.management import call_command
from django.utils import timezone

from followup.choices import OutboxStatus
from followup.models import OutboxMessage
from followup.services import outbox_enqueue_email
from followup.tests.support import (
    EVENT_TIMEOUT,
    child_env,
    database_url_of_this_run,
    heeded,
    start,
    stop,
)

# The worker runs outside the test's transaction (it closes stale connections), and
# the subprocesses must see committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


def _a_minute_ago() -> dt.datetime:
    # The worker reads the real clock, so these messages are queued against it too.
    return timezone.now() - dt.timedelta(minutes=1)


def _mail(key: str, now: dt.datetime) -> OutboxMessage:
    return outbox_enqueue_email(
        key=key, to=["alice@acme-dental.example"], subject=key, text="t", now=now
    )


def _worker_env(smtp_port: int, **extra: str) -> dict[str, str]:
    return child_env(
        DATABASE_URL=database_url_of_this_run(),
        HEEDED_EMAIL_URL=f"smtp://127.0.0.1:{smtp_port}?timeout=60",
        # Long enough that the test would time out if a signal did not cut it short.
        HEEDED_WORKER_IDLE_SECONDS="600",
        **extra,
    )


def test_once_delivers_what_is_due_and_prints_a_line_per_delivery(smtp):
    sent = _mail("ok", _a_minute_ago())
    out, err = io.StringIO(), io.StringIO()

    call_command("worker", once=True, worker_id="w-test", stdout=out, stderr=err)

    sent.refresh_from_db()
    assert sent.status == OutboxStatus.SENT and sent.claimed_by == "w-test"
    lines = out.getvalue().splitlines()
    assert lines == [
        "heeded worker w-test: started",
        f"outbox: sent email #{sent.pk} attempt 1 {sent.payload['message_id']}",
        "heeded worker w-test: stopped",
    ]
    assert err.getvalue() == ""


def test_once_prints_failures_on_stderr_and_leaves_the_retry_for_later(smtp):
    smtp.reply = "550 5.1.1 No such user"
    failing = _mail("refused", _a_minute_ago())
    out, err = io.StringIO(), io.StringIO()

    call_command("worker", once=True, worker_id="w-test", stdout=out, stderr=err)

    failing.refresh_from_db()
    assert failing.status == OutboxStatus.PENDING and failing.attempts == 1
    [line] = err.getvalue().splitlines()
    assert line.startswith(f"outbox: retry email #{failing.pk} attempt 1 failed, next try at ")
    assert "550" in line and "No such user" in line


def test_once_with_nothing_due_exits_quietly(smtp):
    _mail("later", timezone.now() + dt.timedelta(hours=1))
    out = io.StringIO()

    call_command("worker", once=True, worker_id="w-test", stdout=out)

    assert out.getvalue().splitlines() == [
        "heeded worker w-test: started",
        "heeded worker w-test: stopped",
    ]
    assert smtp.received == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_an_idle_worker_with_status_0(smtp, sig):
    message = _mail("before-idle", _a_minute_ago())
    worker = start([*heeded(), "worker", "--worker-id", "w-sig"], env=_worker_env(smtp.port))
    try:
        worker.wait_for(f"sent email #{message.pk}")

        os.kill(worker.process.pid, sig)

        assert worker.process.wait(EVENT_TIMEOUT) == 0
        assert "heeded worker w-sig: stopped" in worker.rest()
    finally:
        stop(worker)


def test_sigterm_lets_the_current_delivery_finish_then_exits_0(smtp):
    smtp.gate = True
    first = _mail("first", timezone.now() - dt.timedelta(minutes=2))
    second = _mail("second", timezone.now() - dt.timedelta(minutes=1))
    worker = start([*heeded(), "worker", "--worker-id", "w-term"], env=_worker_env(smtp.port))
    try:
        worker.wait_for("heeded worker w-term: started")
        assert smtp.entered.wait(EVENT_TIMEOUT), worker.text()

        os.kill(worker.process.pid, signal.SIGTERM)
        smtp.release()

        assert worker.process.wait(EVENT_TIMEOUT) == 0
        output = worker.rest()
    finally:
        stop(worker)
    assert f"sent email #{first.pk} attempt 1" in output
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == OutboxStatus.SENT
    assert (second.status, second.attempts) == (OutboxStatus.PENDING, 0)
    assert [m["Message-ID"] for m in smtp.received] == [first.payload["message_id"]]


def test_a_bad_setting_stops_the_worker_with_a_clear_message(smtp):
    worker = start(
        [*heeded(), "worker", "--once"],
        env=_worker_env(smtp.port, HEEDED_OUTBOX_LEASE_SECONDS="1"),
    )
    try:
        assert worker.process.wait(EVENT_TIMEOUT) == 2
    finally:
        stop(worker)
    assert "HEEDED_OUTBOX_LEASE_SECONDS: must be at least 5, got 1" in worker.rest()


def test_once_sweeps_then_delivers_the_notices_it_queued(smtp, draft, admin):
    from followup.models import FollowupStep
    from recommendations.services import recommendation_present

    # Presented eight days ago by the real clock: escalation level 1 is due now.
    recommendation_present(
        recommendation=draft, actor=admin, now=timezone.now() - dt.timedelta(days=8)
    )
    out = io.StringIO()

    call_command("worker", once=True, worker_id="w-test", stdout=out, stderr=io.StringIO())

    text = out.getvalue()
    assert "sweep: " in text and f"escalation-1 recommendation #{draft.pk}" in text
    assert FollowupStep.objects.get().worker == "w-test"
    # The presenting e-mail and both escalation notices went out.
    assert smtp.message_ids().total() == 3
    assert text.count("outbox: sent email") == 3
