"""The verify pass as a periodic job of ``heeded worker`` (``followup.jobs``)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from verification.compliance import verify_pass

VERIFY_JOB = "verify"


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
