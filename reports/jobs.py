"""The reports app's periodic jobs of ``heeded worker`` (``followup.jobs``): the
compliance snapshot (hourly: one row per client and local day, the last taken on the
day stays) and the scheduled reports (hourly: a report is made once, in the first
hour after the client's local midnight that ends its period)."""

from __future__ import annotations

import datetime as dt

from reports.services import compliance_snapshot_take, scheduled_reports_deliver

SNAPSHOT_JOB = "compliance-snapshot"
SCHEDULE_JOB = "scheduled-reports"


def snapshot_job(now: dt.datetime) -> str:
    taken = compliance_snapshot_take(now=now)
    return f"took {taken} compliance snapshots" if taken else ""


def schedule_job(now: dt.datetime) -> str:
    delivered = scheduled_reports_deliver(now=now)
    if not delivered:
        return ""
    names = ", ".join(f"{r.kind} {r.period_label} of client {r.client_id}" for r in delivered)
    return f"queued {len(delivered)} scheduled reports: {names}"
