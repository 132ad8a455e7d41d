"""Deadline maths of the lifecycle: when a response is due, when the client is
reminded, how the escalation ladder climbs, when a rejection is reviewed again.

Pure functions of their arguments: the client's ``Policy`` and ``now`` are passed in
and nothing here reads the database or the clock. The services, the model's
``compute_next_action_at`` and the follow-up sweep all ask these functions, so a
deadline is computed one way everywhere.

The ladder of an item awaiting a response, for a deadline of D days:

    reminder-1 (halfway: D/2 days before the deadline)
    reminder-2 (one day before the deadline)
    escalation-1 (at the deadline)
    escalation-2 (escalation-1 + level-2 interval, counted from when level 1 went out)
    escalation-3 (escalation-2 + level-3 interval): marked ignored

Escalation levels are spaced from the moment the previous level was acted on, so a
sweep that was down for a week still gives the client the full interval between
levels; a reminder whose successor is already due is skipped as stale.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from catalog.choices import Severity
from clients.policy import REJECTION_REVIEW_DAYS, Policy
from recommendations.choices import Status

if TYPE_CHECKING:
    from recommendations.models import Recommendation

SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class Step:
    """Names of the steps the sweep acts on (stable: stored, shown, hashed into keys)."""

    REMINDER_1 = "reminder-1"
    REMINDER_2 = "reminder-2"
    ESCALATION_1 = "escalation-1"
    ESCALATION_2 = "escalation-2"
    ESCALATION_3 = "escalation-3"
    DEFERRAL_DUE = "deferral-due"
    PLANNED_DATE = "planned-date"
    RE_REVIEW = "re-review"

    LADDER = (REMINDER_1, REMINDER_2, ESCALATION_1, ESCALATION_2, ESCALATION_3)
    LEVEL = {ESCALATION_1: 1, ESCALATION_2: 2, ESCALATION_3: 3}


@dataclasses.dataclass(frozen=True)
class PlannedStep:
    """The next thing the sweep must do for a recommendation, and when."""

    name: str
    at: dt.datetime
    cycle: str

    @property
    def key(self) -> str:
        """Unique per recommendation: the same step of the same cycle is acted on once."""
        return f"{self.cycle}/{self.name}"

    @property
    def level(self) -> int:
        return Step.LEVEL.get(self.name, 0)


# --- day arithmetic ------------------------------------------------------------------


def start_of_day(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """Midnight at the start of ``day`` in ``tz``, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def local_today(now: dt.datetime, tz: dt.tzinfo) -> dt.date:
    """The calendar day ``now`` falls on in ``tz`` (a client's "today")."""
    return now.astimezone(tz).date()


def add_days(
    moment: dt.datetime, days: int, *, business: bool, tz: dt.tzinfo | None
) -> dt.datetime:
    """``moment`` moved by ``days`` (negative: back). Calendar days are 24-hour days;
    business days skip Saturdays and Sundays as seen in the client's time zone and
    keep the local time of day."""
    if not business or tz is None:
        return moment + dt.timedelta(days=days)
    local = moment.astimezone(tz)
    step = 1 if days >= 0 else -1
    remaining = abs(days)
    day = local.date()
    while remaining:
        day += dt.timedelta(days=step)
        if day.weekday() < 5:
            remaining -= 1
    moved = dt.datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)
    return moved.astimezone(dt.UTC)


def months_later(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, clamped to the end of a shorter month."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_qbr_date(*, tz: dt.tzinfo, cadence_months: int, after: dt.datetime) -> dt.date:
    """The first day of the next QBR period after ``after`` (periods of
    ``cadence_months`` counted from January, in the client's time zone ``tz``)."""
    today = after.astimezone(tz).date()
    cadence = int(cadence_months) or 3
    month0 = (today.month - 1) // cadence * cadence
    return months_later(dt.date(today.year, month0 + 1, 1), cadence)


# --- deadlines -------------------------------------------------------------------------


def response_due_at(
    *, policy: Policy, severity: str, presented_at: dt.datetime, tz: dt.tzinfo | None
) -> dt.datetime:
    """The moment a response to a recommendation presented at ``presented_at`` is due."""
    return add_days(
        presented_at, policy.response_days_for(severity), business=policy.business_days, tz=tz
    )


def rejection_review_at(
    *,
    policy: Policy,
    decided_at: dt.datetime,
    tz: dt.tzinfo | None,
    qbr_cadence_months: int = 3,
) -> dt.datetime:
    """When a rejected recommendation is put to the client again: after the policy's
    months (default 12, counted as 365 days), or at the next QBR when the policy says so."""
    if tz is None:
        return decided_at + dt.timedelta(days=REJECTION_REVIEW_DAYS)
    if policy.review_at_next_qbr:
        return start_of_day(
            next_qbr_date(tz=tz, cadence_months=qbr_cadence_months, after=decided_at), tz
        )
    if policy.rejection_review_months == 12:
        return decided_at + dt.timedelta(days=REJECTION_REVIEW_DAYS)
    local = decided_at.astimezone(tz)
    day = months_later(local.date(), policy.rejection_review_months)
    return dt.datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)


def planned_date_lapses_at(planned_for: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """An accepted item is late from the start of the day after its planned date."""
    return start_of_day(planned_for + dt.timedelta(days=1), tz)


def is_overdue(
    *,
    status: str,
    response_due_at: dt.datetime | None,
    planned_for: dt.date | None,
    tz: dt.tzinfo,
    now: dt.datetime,
) -> bool:
    """True when awaiting a response past its due time, or accepted/in progress past
    its planned date in the client's time zone ``tz``; False in every other state.
    The model's ``is_overdue`` and every "overdue" selector use this same rule."""
    if status == Status.AWAITING_RESPONSE:
        return response_due_at is not None and response_due_at <= now
    if status in (Status.ACCEPTED, Status.IN_PROGRESS) and planned_for is not None:
        return now >= planned_date_lapses_at(planned_for, tz)
    return False


# --- the schedule ------------------------------------------------------------------------


def _ladder(rec: Recommendation, policy: Policy) -> list[PlannedStep]:
    """The fixed-time steps of the current response cycle (reminders, level 1)."""
    due = rec.response_due_at
    assert due is not None
    cycle = f"response@{due.astimezone(dt.UTC).isoformat()}"
    tz = rec.client.tz
    days = policy.response_days_for(rec.severity)
    steps = []
    if policy.reminders:
        half = max(days // 2, 1)
        if half > 1:
            steps.append(
                PlannedStep(
                    Step.REMINDER_1,
                    add_days(due, -half, business=policy.business_days, tz=tz),
                    cycle,
                )
            )
        steps.append(
            PlannedStep(
                Step.REMINDER_2, add_days(due, -1, business=policy.business_days, tz=tz), cycle
            )
        )
    steps.append(PlannedStep(Step.ESCALATION_1, due, cycle))
    return steps


def next_step(
    rec: Recommendation,
    policy: Policy,
    *,
    last: str | None = None,
    last_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> PlannedStep | None:
    """The next step of ``rec``'s current cycle after ``last`` (acted on at ``last_at``),
    or None when nothing more is due in this state.

    With ``now``, a reminder whose successor is already due is skipped: a late sweep
    escalates rather than sends a reminder of a deadline that has passed.
    """
    status = rec.status
    if status == Status.AWAITING_RESPONSE and rec.response_due_at is not None:
        fixed = _ladder(rec, policy)
        cycle = fixed[0].cycle
        if last == Step.ESCALATION_1 and last_at is not None:
            return PlannedStep(
                Step.ESCALATION_2, last_at + dt.timedelta(days=policy.level2_after_days), cycle
            )
        if last == Step.ESCALATION_2 and last_at is not None:
            return PlannedStep(
                Step.ESCALATION_3, last_at + dt.timedelta(days=policy.level3_after_days), cycle
            )
        if last == Step.ESCALATION_3:
            return None
        names = [s.name for s in fixed]
        remaining = fixed[names.index(last) + 1 :] if last in names else fixed
        while len(remaining) > 1 and now is not None and remaining[1].at <= now:
            remaining = remaining[1:]
        return remaining[0] if remaining else None
    if last is not None:
        # Every other state has a single step per cycle.
        return None
    if status == Status.DEFERRED and rec.deferred_until:
        return PlannedStep(
            Step.DEFERRAL_DUE,
            start_of_day(rec.deferred_until, rec.client.tz),
            f"deferral@{rec.deferred_until.isoformat()}#{rec.deferral_count}",
        )
    if status in (Status.ACCEPTED, Status.IN_PROGRESS) and rec.planned_for:
        if rec.planned_date_lapsed_on == rec.planned_for:
            return None
        return PlannedStep(
            Step.PLANNED_DATE,
            planned_date_lapses_at(rec.planned_for, rec.client.tz),
            f"planned@{rec.planned_for.isoformat()}",
        )
    if status == Status.REJECTED and rec.review_at:
        return PlannedStep(
            Step.RE_REVIEW, rec.review_at, f"review@{rec.review_at.astimezone(dt.UTC).isoformat()}"
        )
    return None
