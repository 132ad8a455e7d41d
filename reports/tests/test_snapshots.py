"""Compliance history: today's snapshot (idempotent per client and day), the back-fill
from the ledger, and ``heeded snapshot``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from reports.models import ComplianceSnapshot
from reports.services import compliance_history_backfill, compliance_snapshot_take

from .conftest import REPORT_NOW

pytestmark = pytest.mark.django_db


def test_taking_the_snapshot_twice_on_a_day_keeps_one_row_with_the_latest_figures(
    scene, client_a, client_b, admin
):
    from recommendations.services import recommendation_mark_implemented

    assert compliance_snapshot_take(now=REPORT_NOW) == 2
    first = ComplianceSnapshot.objects.get(client=client_a)
    assert (first.day, first.score, first.active) == (dt.date(2026, 3, 30), Decimal("3.3"), 8)
    assert first.by_status == {
        "accepted": 1,
        "awaiting_response": 2,
        "deferred": 1,
        "ignored": 1,
        "in_progress": 1,
        "rejected": 1,
        "verified": 1,
    }
    assert first.by_severity == {"critical": 2, "high": 2, "low": 2, "medium": 2}
    recommendation_mark_implemented(
        recommendation=scene["dmarc"], actor=admin, now=REPORT_NOW + dt.timedelta(hours=1)
    )
    compliance_snapshot_take(now=REPORT_NOW + dt.timedelta(hours=2))
    rows = ComplianceSnapshot.objects.filter(client=client_a)
    assert rows.count() == 1
    # dmarc (high, 4) now implemented: (1 + 4) / 30 = 16.7 %.
    assert rows.get().score == Decimal("16.7")
    assert ComplianceSnapshot.objects.get(client=client_b).score is None


def test_the_day_is_the_clients_own_calendar_day(client_a):
    # 23:30 UTC on 30 March is already 31 March in Rome (UTC+2 in summer).
    compliance_snapshot_take(now=dt.datetime(2026, 3, 30, 23, 30, tzinfo=dt.UTC))
    assert ComplianceSnapshot.objects.get(client=client_a).day == dt.date(2026, 3, 31)


def test_the_backfill_replays_the_ledger_day_by_day(scene, client_a):
    written = compliance_history_backfill(client=client_a, now=REPORT_NOW)
    days = {s.day: s for s in ComplianceSnapshot.objects.filter(client=client_a)}
    # From the day of the first recommendation event (5 January) to yesterday.
    assert min(days) == dt.date(2026, 1, 5)
    assert max(days) == dt.date(2026, 3, 29)
    assert written == len(days) == 84
    # 20 January: mfa, edr, backup, patch (implemented that day), laps presented.
    on_20 = days[dt.date(2026, 1, 20)]
    assert on_20.by_status == {
        "accepted": 1,
        "awaiting_response": 1,
        "deferred": 1,
        "implemented": 1,
        "rejected": 1,
    }
    # Weights 8 (mfa) + 8 (edr) + 4 (backup) + 1 (patch) + 2 (laps) = 23; done 1.
    assert on_20.score == Decimal("4.3")
    assert days[dt.date(2026, 1, 4) + dt.timedelta(days=1)].active == 2
    # Running it again changes nothing.
    assert compliance_history_backfill(client=client_a, now=REPORT_NOW) == 84
    assert ComplianceSnapshot.objects.filter(client=client_a).count() == 84


def test_the_snapshot_command_takes_todays_snapshot_as_of_now(client_a):
    out = StringIO()
    call_command("snapshot", "--now", "2026-03-30T10:00:00+02:00", stdout=out)
    assert out.getvalue() == "took 1 compliance snapshots as of 2026-03-30T10:00:00+02:00\n"
    assert ComplianceSnapshot.objects.get(client=client_a).day == dt.date(2026, 3, 30)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "--now: 'yesterday' is not an ISO date and time"),
        ("2026-03-30T10:00:00", "--now: '2026-03-30T10:00:00' has no UTC offset (add Z or +01:00)"),
    ],
)
def test_the_snapshot_command_refuses_a_bad_now(client_a, value, message):
    with pytest.raises(CommandError) as caught:
        call_command("snapshot", "--now", value)
    assert str(caught.value) == message
    assert caught.value.returncode == 2
    assert not ComplianceSnapshot.objects.exists()
