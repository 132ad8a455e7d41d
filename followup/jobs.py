"""Periodic jobs of ``heeded worker``: the verify pass, the daily compliance snapshot,
the scheduled reports.

A job is a name, a function naming the period a moment belongs to (a 15-minute slot,
a day) and a function doing the work. Capabilities register theirs in their
``AppConfig.ready`` with ``periodic(...)``; the worker calls ``run_due_jobs`` in every
pass. The claim is a ``JobRun`` row, unique per (job, period), inserted in a short
transaction of its own before the work starts:

- several workers: the second insert fails on the unique constraint, so one worker
  runs a job per period;
- a worker killed mid-run: its row stays unfinished; when its lease
  (``HEEDED_JOB_LEASE_SECONDS``) has passed, the next worker takes the run over and
  runs the job again. Every job is idempotent per its own keys (a snapshot per client
  and day, a delivered report per client, kind and period, the verify pass per changed
  device), so the second run redoes only what the first had not committed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F

from followup.models import JobRun

log = logging.getLogger("heeded.jobs")

PeriodOf = Callable[[dt.datetime], str]
# Does the work as of ``now``; returns a one-line summary, "" when there was nothing
# worth a line in the worker's log.
Work = Callable[[dt.datetime], str]


@dataclasses.dataclass(frozen=True)
class Job:
    name: str
    period_of: PeriodOf
    work: Work


JOBS: dict[str, Job] = {}

# Work a page queues for the worker rather than doing it in the request (a tracker
# preview of a large sheet): "take one queued unit as of ``now`` for ``worker`` and do
# it", returning a one-line summary, or None when nothing was queued. The unit's own
# row is its claim; see e.g. ``tracker.previews.preview_take``.
Take = Callable[[dt.datetime, str], str | None]
QUEUED: dict[str, Take] = {}


def periodic(name: str, *, period_of: PeriodOf, work: Work) -> None:
    """Register a periodic job (called from an ``AppConfig.ready``)."""
    JOBS[name] = Job(name=name, period_of=period_of, work=work)


def queued(name: str, *, take: Take) -> None:
    """Register queued work the worker takes in every pass (from an ``AppConfig.ready``)."""
    QUEUED[name] = take


def take_queued(now: dt.datetime, worker: str) -> list[str]:
    """Take one unit of each kind of queued work; a line per unit done. A unit's bug
    is logged and does not end the worker; a database error does (the loop reconnects)."""
    lines = []
    for name, take in list(QUEUED.items()):
        try:
            summary = take(now, worker)
        except DatabaseError:
            raise
        except Exception as exc:
            log.exception("queued %s failed", name)
            summary = f"failed: {type(exc).__name__}: {exc}"[:500]
        if summary is not None:
            lines.append(f"{name}: {summary}")
    return lines


def daily(now: dt.datetime) -> str:
    """The UTC day of ``now``: a job with this period runs once a day."""
    return now.astimezone(dt.UTC).date().isoformat()


def every_minutes(minutes: Callable[[], int]) -> PeriodOf:
    """A period of ``minutes()`` minutes (read at each call, so settings apply)."""

    def period_of(now: dt.datetime) -> str:
        at = now.astimezone(dt.UTC)
        step = max(1, minutes())
        slot = (at.hour * 60 + at.minute) // step * step
        return f"{at.date().isoformat()}T{slot // 60:02d}:{slot % 60:02d}"

    return period_of


@dataclasses.dataclass(frozen=True)
class JobResult:
    job: str
    period: str
    attempt: int
    summary: str
    error: str = ""

    def describe(self) -> str:
        retry = f" (attempt {self.attempt}, taken over)" if self.attempt > 1 else ""
        if self.error:
            return f"{self.job} {self.period}{retry} failed, left to its lease: {self.error}"
        return f"{self.job} {self.period}{retry}: {self.summary}"


def job_claim(*, job: str, period: str, now: dt.datetime, worker: str) -> JobRun | None:
    """Claim the run of ``job`` for ``period``: the new row, an abandoned row taken
    over, or None when another worker has it or it is done."""
    lease_until = now + dt.timedelta(seconds=settings.HEEDED_JOB_LEASE_SECONDS)
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                job=job, period=period, claimed_by=worker, started_at=now, lease_until=lease_until
            )
    except IntegrityError:
        pass
    with transaction.atomic():
        abandoned = JobRun.objects.filter(
            job=job, period=period, finished_at__isnull=True, lease_until__lt=now
        )
        if not abandoned.update(
            claimed_by=worker, lease_until=lease_until, attempts=F("attempts") + 1
        ):
            return None
    return JobRun.objects.get(job=job, period=period)


# Finished runs are kept this long (to see what the worker did), then deleted: a
# period, being a past moment, is never claimed again.
KEEP_RUNS = dt.timedelta(days=30)


def job_finish(run: JobRun, *, now: dt.datetime, summary: str) -> bool:
    """Mark the run done if it is still ours; False when another worker took it over.
    Also forgets the job's runs finished more than ``KEEP_RUNS`` ago."""
    with transaction.atomic():
        ours = (
            JobRun.objects.filter(
                pk=run.pk, claimed_by=run.claimed_by, attempts=run.attempts, finished_at=None
            ).update(finished_at=now, summary=summary[:2000])
            == 1
        )
        JobRun.objects.filter(job=run.job, finished_at__lt=now - KEEP_RUNS).delete()
    return ours


class JobRunner:
    """The worker's memory of which job periods it has already seen done, so a pass
    costs no query per job once the job's period is over for it."""

    def __init__(self, worker: str) -> None:
        self.worker = worker
        self.seen: dict[str, str] = {}

    def run_due(self, now: dt.datetime) -> list[JobResult]:
        """Run every job whose current period has not run yet; one result per run."""
        results: list[JobResult] = []
        for job in list(JOBS.values()):
            period = job.period_of(now)
            if self.seen.get(job.name) == period:
                continue
            run = job_claim(job=job.name, period=period, now=now, worker=self.worker)
            if run is None:
                # Done, or running elsewhere: look again only in the next period. A
                # run abandoned elsewhere is taken over by whoever starts next.
                if JobRun.objects.filter(
                    job=job.name, period=period, finished_at__isnull=False
                ).exists():
                    self.seen[job.name] = period
                continue
            try:
                summary = job.work(now)
            except DatabaseError:
                raise  # the worker's loop reconnects; the run is taken over after its lease
            except Exception as exc:
                # A job's bug or a bad row must not end the worker (nor the deliveries):
                # the run stays unfinished, so a worker (this one too) takes it over
                # after its lease.
                log.exception("job %s %s failed", job.name, period)
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                results.append(
                    JobResult(job.name, period, run.attempts, summary="", error=error[:500])
                )
                continue
            job_finish(run, now=now, summary=summary)
            self.seen[job.name] = period
            results.append(
                JobResult(job=job.name, period=period, attempt=run.attempts, summary=summary)
            )
        return results
