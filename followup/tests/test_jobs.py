"""Periodic worker jobs (followup.jobs): one run per job and period, however many
workers; a run abandoned by a killed worker is taken over after its lease."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from followup.jobs import JobRunner, daily, every_minutes, job_claim, job_finish
from followup.models import JobRun
from followup.tests.support import EVENT_TIMEOUT, child_env, database_url_of_this_run, heeded, start
from followup.tests.support import stop as stop_child
from reports.jobs import SNAPSHOT_JOB
from reports.models import ComplianceSnapshot
from verification.jobs import VERIFY_JOB

AT = dt.datetime(2026, 3, 2, 23, 59, 58, 917_331, tzinfo=dt.UTC)


def test_periods_name_the_utc_day_and_the_slot():
    assert daily(AT) == "2026-03-02"
    assert daily(AT.astimezone(dt.timezone(dt.timedelta(hours=2)))) == "2026-03-02"
    assert every_minutes(lambda: 15)(AT) == "2026-03-02T23:45"
    assert every_minutes(lambda: 15)(AT.replace(minute=0, second=0)) == "2026-03-02T23:00"


@pytest.mark.django_db
def test_a_period_is_claimed_once_and_an_abandoned_run_only_after_its_lease(settings):
    settings.HEEDED_JOB_LEASE_SECONDS = 60
    run = job_claim(job="j", period="p", now=AT, worker="w1")
    assert run is not None and run.attempts == 1

    assert job_claim(job="j", period="p", now=AT, worker="w2") is None
    assert job_claim(job="j", period="p", now=AT + dt.timedelta(seconds=59), worker="w2") is None

    taken = job_claim(job="j", period="p", now=AT + dt.timedelta(seconds=61), worker="w2")
    assert taken is not None and (taken.claimed_by, taken.attempts) == ("w2", 2)
    # The first worker wakes up: its finish is not applied over the second's claim.
    assert not job_finish(run, now=AT + dt.timedelta(seconds=62), summary="late")
    assert job_finish(taken, now=AT + dt.timedelta(seconds=63), summary="done")
    assert job_claim(job="j", period="p", now=AT + dt.timedelta(days=1), worker="w3") is None
    assert job_claim(job="j", period="q", now=AT, worker="w3") is not None


@pytest.mark.django_db
def test_the_runner_runs_each_job_once_per_period_and_remembers(
    client_a, client_b, django_assert_num_queries
):
    runner = JobRunner("w1")
    first = runner.run_due(AT)
    assert {r.job for r in first} >= {VERIFY_JOB, SNAPSHOT_JOB}
    assert ComplianceSnapshot.objects.count() == 2

    # Same periods: nothing runs, and nothing is asked of the database.
    with django_assert_num_queries(0):
        assert runner.run_due(AT + dt.timedelta(seconds=1)) == []
    # Another worker sees the periods done.
    assert JobRunner("w2").run_due(AT) == []
    # The next hour rewrites each client's row of its own day (already 3 March in
    # Rome); the verify slot came round too.
    later = JobRunner("w2").run_due(AT + dt.timedelta(seconds=2))
    assert {r.job for r in later} >= {VERIFY_JOB, SNAPSHOT_JOB}
    assert ComplianceSnapshot.objects.count() == 2
    assert {s.taken_at for s in ComplianceSnapshot.objects.all()} == {AT + dt.timedelta(seconds=2)}
    # A day later, a new row per client.
    JobRunner("w3").run_due(AT + dt.timedelta(days=1))
    assert ComplianceSnapshot.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_the_worker_prints_a_line_for_a_job_that_did_something(client_a):
    out = io.StringIO()

    call_command("worker", once=True, worker_id="w-jobs", stdout=out, stderr=io.StringIO())

    slot = every_minutes(lambda: 60)(timezone.now())
    assert f"job: {SNAPSHOT_JOB} {slot}: took 1 compliance snapshots" in out.getvalue()
    assert JobRun.objects.get(job=SNAPSHOT_JOB).claimed_by == "w-jobs"


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_take_the_days_snapshot_once(client_a, client_b):
    env = child_env(DATABASE_URL=database_url_of_this_run(), HEEDED_EMAIL_URL="console://")
    children = [
        start([*heeded(), "worker", "--once", "--worker-id", f"w{i}"], env=env) for i in range(2)
    ]
    try:
        codes = [c.process.wait(EVENT_TIMEOUT * 2) for c in children]
        outputs = [c.rest() for c in children]
    finally:
        for child in children:
            stop_child(child)

    assert codes == [0, 0], outputs
    took = [text.count(f"job: {SNAPSHOT_JOB} ") for text in outputs]
    assert sorted(took) == [0, 1], outputs
    [run] = JobRun.objects.filter(job=SNAPSHOT_JOB)
    assert run.finished_at is not None and run.attempts == 1
    assert ComplianceSnapshot.objects.count() == 2


@pytest.mark.django_db
def test_a_failing_job_is_reported_left_to_its_lease_and_the_others_still_run(
    monkeypatch, settings
):
    from followup import jobs

    settings.HEEDED_JOB_LEASE_SECONDS = 60
    early = AT - dt.timedelta(hours=3)

    def broken(now):
        raise ValueError("the D'Angelo row cannot be read")

    monkeypatch.setitem(jobs.JOBS, "broken", jobs.Job("broken", daily, broken))
    results = {r.job: r for r in JobRunner("w1").run_due(early)}

    assert "cannot be read" in results["broken"].error
    assert results[SNAPSHOT_JOB].error == ""
    run = JobRun.objects.get(job="broken")
    assert run.finished_at is None
    # After its lease, another worker takes it over.
    monkeypatch.setitem(jobs.JOBS, "broken", jobs.Job("broken", daily, lambda now: "fixed"))
    later = {r.job: r for r in JobRunner("w2").run_due(early + dt.timedelta(seconds=61))}
    assert later["broken"].attempt == 2 and later["broken"].summary == "fixed"


@pytest.mark.django_db
def test_the_worker_whose_job_failed_takes_it_over_itself_after_the_lease(monkeypatch, settings):
    from followup import jobs

    settings.HEEDED_JOB_LEASE_SECONDS = 60
    early = AT - dt.timedelta(hours=3)
    calls = []

    def flaky(now):
        calls.append(now)
        if len(calls) == 1:
            raise ValueError("first try fails")
        return "second try"

    monkeypatch.setitem(jobs.JOBS, "flaky", jobs.Job("flaky", daily, flaky))
    runner = JobRunner("alone")
    assert [r.error for r in runner.run_due(early) if r.job == "flaky"] == [
        "ValueError: first try fails"
    ]
    assert [r for r in runner.run_due(early + dt.timedelta(seconds=30)) if r.job == "flaky"] == []
    [again] = [r for r in runner.run_due(early + dt.timedelta(seconds=61)) if r.job == "flaky"]
    assert (again.attempt, again.summary) == (2, "second try") and len(calls) == 2


@pytest.mark.django_db
def test_finished_runs_older_than_thirty_days_are_forgotten():
    old = job_claim(job="j", period="old", now=AT - dt.timedelta(days=31), worker="w")
    assert old is not None
    job_finish(old, now=AT - dt.timedelta(days=31), summary="")
    recent = job_claim(job="j", period="recent", now=AT - dt.timedelta(days=29), worker="w")
    assert recent is not None
    job_finish(recent, now=AT - dt.timedelta(days=29), summary="")
    other = job_claim(job="k", period="old", now=AT - dt.timedelta(days=31), worker="w")
    assert other is not None
    job_finish(other, now=AT - dt.timedelta(days=31), summary="")

    now_run = job_claim(job="j", period="now", now=AT, worker="w")
    assert now_run is not None
    job_finish(now_run, now=AT, summary="")

    assert sorted(JobRun.objects.values_list("job", "period")) == [
        ("j", "now"),
        ("j", "recent"),
        ("k", "old"),
    ]
