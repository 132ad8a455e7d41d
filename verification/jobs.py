"""Periodic jobs of verification in ``heeded worker`` (``followup.jobs``): the verify
pass, and the daily device compliance history."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from verification.compliance import verify_pass
from verification.services import device_score_history_take

VERIFY_JOB = "verify"
HISTORY_JOB = "device-score-history"


def verify_every() -> int:
    minutes: int = settings.HEEDED_VERIFY_EVERY_MINUTES
    return minutes


def verify_job(now: dt.datetime) -> str:
    """One verify pass; a summary line only when it changed something."""
    result = verify_pass(now=now)
    if not (result.recommendations or result.newly_stale):
        return ""
    return (
        f"{result.recommendations} recommendations evaluated; verified "
        f"{len(result.verified)}, drifted {len(result.drifted)}, applied while rejected "
        f"{len(result.applied_while_rejected)}; {result.newly_stale} devices went stale"
    )


def history_job(now: dt.datetime) -> str:
    """The device compliance of each client's day just ended, once per client and day."""
    written = device_score_history_take(now=now)
    return f"wrote the device compliance of {written} clients' last day" if written else ""
