"""Follow-up policy: when a response is due, when a rejection is reviewed again.

Pure functions of their inputs (``now`` is always passed in). Per-client contract
tiers, business days and reminder ladders extend this module.
"""

from __future__ import annotations

import datetime as dt

from catalog.choices import Severity

RESPONSE_DAYS = {
    Severity.CRITICAL: 7,
    Severity.HIGH: 10,
    Severity.MEDIUM: 14,
    Severity.LOW: 30,
}
REJECTION_REVIEW_DAYS = 365


def response_due_at(*, severity: str, presented_at: dt.datetime) -> dt.datetime:
    """The moment a response to a recommendation presented at ``presented_at`` is due."""
    return presented_at + dt.timedelta(days=RESPONSE_DAYS[Severity(severity)])


def rejection_review_at(*, decided_at: dt.datetime) -> dt.datetime:
    """When a rejected recommendation is put to the client again."""
    return decided_at + dt.timedelta(days=REJECTION_REVIEW_DAYS)


def start_of_day(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """Midnight at the start of ``day`` in ``tz``, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)
