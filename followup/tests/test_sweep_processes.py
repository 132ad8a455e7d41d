"""Sweeps in real processes: three at once act on each step exactly once, and one
killed with SIGKILL in the middle loses nothing."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time

import pytest
from django.db import transaction

from followup.models import FollowupStep, OutboxMessage, Ticket
from followup.sweep import sweep
from followup.tests.support import (
    EVENT_TIMEOUT,
    child_env,
    database_url_of_this_run,
    heeded,
    someone_waits_for_a_lock,
    start,
    stop,
)
from heeded.testing import requires_postgres
from ledger.models import Event, Head
from recommendations.deadlines import Step
from recommendations.services import recommendation_create, recommendation_present

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.timedelta(days=1)
ITEMS_PER_CLIENT = 8


def _present(client, contact, admin, at, i):
    rec = recommendation_create(
        client=client,
        actor=admin,
        now=at,
        title=f"Item {i}",
        body="Do it.",
        severity="critical",
        owner=admin,
        contact=contact,
    )
    return recommendation_present(recommendation=rec, actor=admin, now=at)


def _assert_each_step_acted_and_announced_once(recs) -> None:
    for rec in recs:
        steps = list(FollowupStep.objects.filter(recommendation=rec))
        assert [s.name for s in steps] == [Step.ESCALATION_1], rec.pk
        assert steps[0].notified_at is not None
        audiences = sorted(m.idempotency_key.split(":")[1] for m in steps[0].notices.all())
        assert audiences == ["client", "staff"], rec.pk
    assert Ticket.objects.count() == len(recs)
    assert Event.objects.filter(kind="followup.step").count() == len(recs)
    assert Event.objects.filter(kind="ticket.opened").count() == len(recs)


def test_three_concurrent_sweep_processes_act_on_each_step_once(
    client_a, client_b, contact_a, contact_b, admin, now
):
    recs = [
        _present(client, contact, admin, now + dt.timedelta(minutes=i), i)
        for i in range(ITEMS_PER_CLIENT)
        for client, contact in ((client_a, contact_a), (client_b, contact_b))
    ]
    at = (now + 8 * DAY).isoformat()
    env = child_env(DATABASE_URL=database_url_of_this_run())
    children = [
        start([*heeded(), "sweep", "--now", at, "--worker-id", f"s{i}"], env=env) for i in range(3)
    ]
    try:
        codes = [c.process.wait(EVENT_TIMEOUT * 2) for c in children]
        outputs = [c.rest() for c in children]
    finally:
        for child in children:
            stop(child)

    assert codes == [0, 0, 0], outputs
    acted = sum(text.count(" escalation-1 recommendation #") for text in outputs)
    assert acted == len(recs), outputs
    # Each step acted once and planned one notice item per audience. A person's notice
    # of the day may have left (from another process) before this step was planned:
    # the item then waits for the next day's notice (one e-mail per person per day).
    for rec in recs:
        (step,) = FollowupStep.objects.filter(recommendation=rec)
        assert step.name == Step.ESCALATION_1, rec.pk
        audiences = sorted(step.notice_items.values_list("audience", flat=True))
        assert audiences == ["client", "staff"], rec.pk
    keys = list(OutboxMessage.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys))
    assert Ticket.objects.count() == len(recs)
    assert Event.objects.filter(kind="followup.step").count() == len(recs)
    workers = set(FollowupStep.objects.values_list("worker", flat=True))
    print(
        f"steps per worker: { {w: FollowupStep.objects.filter(worker=w).count() for w in workers} }"
    )


@requires_postgres
def test_a_sweep_killed_mid_way_loses_no_step(client_a, client_b, contact_a, contact_b, admin, now):
    first = _present(client_a, contact_a, admin, now, 1)
    second = _present(client_b, contact_b, admin, now + dt.timedelta(minutes=1), 2)
    env = child_env(DATABASE_URL=database_url_of_this_run())
    with transaction.atomic():
        # Hold client B's ledger lock (its head row): the child acts on A, commits,
        # then blocks inside B's transaction, where it is killed.
        assert Head.objects.select_for_update().filter(client=client_b).exists()
        child = start([*heeded(), "sweep", "--now", (now + 8 * DAY).isoformat()], env=env)
        try:
            child.wait_for(f"escalation-1 recommendation #{first.pk}")
            deadline = time.monotonic() + EVENT_TIMEOUT
            while not someone_waits_for_a_lock():
                assert time.monotonic() < deadline, "the child never blocked on client B"
                time.sleep(0.05)
            os.kill(child.process.pid, signal.SIGKILL)
            assert child.process.wait(EVENT_TIMEOUT) == -signal.SIGKILL
        finally:
            stop(child)

    # A's step committed but was never announced; B's step rolled back with the kill.
    (left,) = FollowupStep.objects.all()
    assert (left.recommendation_id, left.notified_at) == (first.pk, None)

    actions = sweep(now=now + 8 * DAY)
    # One notice to each client's contact, one to the owner of both (staff get one a day).
    assert [a.text.split(" ")[0] for a in actions].count("notice") == 3
    _assert_each_step_acted_and_announced_once([first, second])
    assert sweep(now=now + 8 * DAY) == []


def test_a_sweep_that_dies_mid_way_loses_no_step_on_either_engine(
    client_a, client_b, contact_a, contact_b, admin, now
):
    """The test above, with the child killing itself at client B's first ledger append
    (``heeded.tests.crashing``): no lock is needed, so it runs on SQLite too."""
    import sys

    from heeded.tests.crashing import ARMED, KILLED

    first = _present(client_a, contact_a, admin, now, 1)
    second = _present(client_b, contact_b, admin, now + dt.timedelta(minutes=1), 2)
    env = child_env(DATABASE_URL=database_url_of_this_run())
    command = ["sweep", "--now", (now + 8 * DAY).isoformat()]
    child = start(
        [sys.executable, "-m", "heeded.tests.crashing", f"ledger-append:{client_b.pk}", *command],
        env=env,
    )
    try:
        child.wait_for(ARMED)
        child.wait_for(f"escalation-1 recommendation #{first.pk}")
        child.wait_for(KILLED)
        assert child.process.wait(EVENT_TIMEOUT) == -signal.SIGKILL
    finally:
        stop(child)

    (left,) = FollowupStep.objects.all()
    assert (left.recommendation_id, left.notified_at) == (first.pk, None)

    actions = sweep(now=now + 8 * DAY)
    assert [a.text.split(" ")[0] for a in actions].count("notice") == 3
    _assert_each_step_acted_and_announced_once([first, second])
    assert sweep(now=now + 8 * DAY) == []
