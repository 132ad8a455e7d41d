"""Several workers at once: every message is delivered exactly once.

The SMTP server holds each delivery until four are in flight together, so the
workers provably overlapped rather than took turns.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone

from followup.choices import OutboxStatus
from followup.delivery import deliver_due
from followup.models import DeliveryAttempt, OutboxMessage
from followup.services import outbox_enqueue_email
from followup.tests.support import (
    EVENT_TIMEOUT,
    child_env,
    database_url_of_this_run,
    heeded,
    start,
    stop,
)

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 4
MESSAGES = 60


def _queue(now: dt.datetime) -> set[str]:
    return {
        outbox_enqueue_email(
            key=f"bulk:{i}", to=[f"user{i}@example.com"], subject=f"#{i}", text="t", now=now
        ).payload["message_id"]
        for i in range(MESSAGES)
    }


def _assert_each_delivered_exactly_once(smtp, message_ids: set[str]) -> None:
    assert smtp.message_ids() == dict.fromkeys(message_ids, 1)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    attempts = DeliveryAttempt.objects.all()
    assert attempts.count() == MESSAGES and all(a.ok for a in attempts)
    workers = set(attempts.values_list("worker", flat=True))
    assert len(workers) == WORKERS, f"only {sorted(workers)} delivered: no real overlap"


def test_concurrent_worker_threads_deliver_each_message_once(smtp, now):
    smtp.hold_until_in_flight = WORKERS
    message_ids = _queue(now)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while deliver_due(now=now, worker=name, limit=3):
                pass
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(EVENT_TIMEOUT)

    assert errors == []
    assert not any(t.is_alive() for t in threads)
    _assert_each_delivered_exactly_once(smtp, message_ids)


def test_concurrent_worker_processes_deliver_each_message_once(smtp):
    smtp.hold_until_in_flight = WORKERS
    message_ids = _queue(timezone.now() - dt.timedelta(minutes=1))
    env = child_env(
        DATABASE_URL=database_url_of_this_run(),
        HEEDED_EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}?timeout=60",
    )
    workers = [
        start([*heeded(), "worker", "--once", "--worker-id", f"p{i}"], env=env)
        for i in range(WORKERS)
    ]
    try:
        codes = [w.process.wait(EVENT_TIMEOUT * 2) for w in workers]
        outputs = [w.rest() for w in workers]
    finally:
        for w in workers:
            stop(w)

    assert codes == [0] * WORKERS, outputs
    assert sum(text.count("outbox: sent email #") for text in outputs) == MESSAGES
    _assert_each_delivered_exactly_once(smtp, message_ids)
