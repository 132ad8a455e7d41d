"""The QBR's figures for the scene of conftest.py (Acme Dental, 2026-Q1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommendations.models import Recommendation
from recommendations.selectors import overdue_q
from reports.periods import parse_period
from reports.selectors import compliance_score, portfolio_for, qbr_for, ratio

from .conftest import REPORT_NOW

pytestmark = pytest.mark.django_db


def q1(client):
    return qbr_for(client, parse_period("2026-Q1"), now=REPORT_NOW)


def test_adoption_counts_each_recommendations_last_decision_of_the_period(scene, client_a):
    qbr = q1(client_a)
    assert qbr.decided == {"accepted": 3, "deferred": 1, "rejected": 1, "ignored": 1}
    assert qbr.adoption_rate == Decimal("50.0")
    assert qbr.implemented_of_accepted == (1, 3)
    assert qbr.implementation_rate == Decimal("33.3")


def test_response_rate_and_median_time_to_decision_cover_what_was_presented(scene, client_a):
    qbr = q1(client_a)
    # Eight presented in the quarter; six answered (edr was ignored, usb not yet due).
    assert (qbr.presented, qbr.responded) == (8, 5)
    assert qbr.response_rate == Decimal("62.5")
    # Waits in days: mfa 4.2, backup 5.3, patch 5.0, laps 6.0, dmarc 14.0 -> median 5.3.
    assert qbr.median_days_to_decision == Decimal("5.3")


def test_every_open_risk_item_is_listed_once_with_its_reason(scene, client_a):
    qbr = q1(client_a)
    reasons = {
        item.rec.title: item.reason
        for group in qbr.risk_groups
        for _, items in group.buckets
        for item in items
    }
    assert reasons == {
        "Require MFA for all remote access": "overdue",
        "Deploy EDR on every workstation": "ignored",
        "Back up patients' records off-site": "rejected",
        "Rotate local admin passwords (LAPS)": "deferred",
        "Separate the guests' Wi-Fi": "overdue",
        "Publish a DMARC policy for acme-dental.example": "accepted_not_applied",
    }
    assert [g.severity for g in qbr.risk_groups] == ["critical", "high", "medium"]
    assert [rec.title for rec in qbr.awaiting] == ["Block USB storage"]
    assert qbr.risk_counts["overdue"] == 2


def test_overdue_agrees_with_the_lifecycles_overdue_selector(scene, client_a):
    qbr = q1(client_a)
    listed = {
        item.rec.pk
        for group in qbr.risk_groups
        for _, items in group.buckets
        for item in items
        if item.reason == "overdue"
    }
    in_sql = set(
        Recommendation.objects.filter(overdue_q(REPORT_NOW), client=client_a).values_list(
            "pk", flat=True
        )
    )
    assert listed == in_sql == {scene["mfa"].pk, scene["wifi"].pk}


def test_compliance_weighs_by_severity_over_active_recommendations(scene, client_a):
    qbr = q1(client_a)
    # Active: every presented item (8); implemented or verified: patch (low, weight 1).
    # Weights: critical 8+8, high 4+4, medium 2+2, low 1+1 = 30 -> 1/30 = 3.3 %.
    assert qbr.active == 8
    assert qbr.compliance == Decimal("3.3")


def test_compliance_score_is_none_without_active_recommendations():
    assert compliance_score({("draft", "critical"): 3, ("withdrawn", "low"): 1}) == (None, 0)
    assert ratio(0, 0) is None
    assert ratio(2, 3) == Decimal("66.7")


def test_decisions_of_the_period_carry_who_when_channel_and_justification(scene, client_a):
    qbr = q1(client_a)
    rows = [r for _, responses in qbr.decisions for r in responses]
    assert len(rows) == 5
    backup = next(r for r in rows if r.decision == "rejected")
    assert backup.responder_name == "Alice Rossi"
    assert backup.channel == "phone"
    assert backup.justification == "Costa troppo quest'anno: rivalutare a giugno"
    assert backup.recorded_at == dt.datetime(2026, 1, 12, 16, 45, 0, 1, tzinfo=dt.UTC)
    assert [r.title for r in qbr.ignored_in_period] == ["Deploy EDR on every workstation"]


def test_a_month_outside_the_decisions_has_no_adoption_rate(scene, client_a):
    qbr = qbr_for(client_a, parse_period("2026-02"), now=REPORT_NOW)
    assert qbr.decided == {"accepted": 0, "deferred": 0, "rejected": 0, "ignored": 0}
    assert qbr.adoption_rate is None
    # The open risks are those of REPORT_NOW, whatever the period.
    assert qbr.risk_total == 6


def test_upcoming_dates_are_the_next_deferral_and_planned_dates(scene, client_a):
    qbr = q1(client_a)
    assert [(day, kind, rec.title) for day, kind, rec in qbr.upcoming] == [
        (dt.date(2026, 4, 30), "deferred_until", "Rotate local admin passwords (LAPS)"),
        (dt.date(2026, 4, 30), "planned_for", "Publish a DMARC policy for acme-dental.example"),
    ]


def test_the_qbr_reads_a_fixed_number_of_queries_whatever_the_number_of_items(
    scene, client_a, admin
):
    from recommendations.services import recommendation_create, recommendation_present

    with CaptureQueriesContext(connection) as few:
        q1(client_a)
    for i in range(6):
        r = recommendation_create(
            client=client_a,
            title=f"Extra item nº {i}",
            body="More.",
            severity="high",
            actor=admin,
            now=REPORT_NOW - dt.timedelta(days=3),
        )
        recommendation_present(recommendation=r, actor=admin, now=REPORT_NOW - dt.timedelta(days=2))
    with CaptureQueriesContext(connection) as more:
        q1(client_a)
    assert len(more) == len(few) <= 8


def test_the_portfolio_aggregates_in_sql_whatever_the_number_of_clients(
    scene, client_a, client_b, manager
):
    with CaptureQueriesContext(connection) as queries:
        rows = portfolio_for(manager, now=REPORT_NOW)
    assert len(queries) <= 5
    assert [row.client.name for row in rows] == ["Acme Dental", "Bravo Legal"]
    acme = rows[0]
    # Critical open risks: mfa (accepted, overdue) and edr (ignored).
    assert acme.open_critical == 2
    assert acme.overdue == 2
    assert acme.compliance == Decimal("3.3")
    # Adopted now (mfa, patch, dmarc) of decided now (+ backup, laps, edr).
    assert acme.adoption == Decimal("50.0")
    assert rows[1].active == 0 and rows[1].compliance is None


def test_a_technician_sees_only_the_assigned_clients_in_the_portfolio(
    scene, client_a, client_b, technician
):
    assert [row.client for row in portfolio_for(technician, now=REPORT_NOW)] == [client_a]


def test_the_qbr_carries_the_device_compliance_trend_connected_by_the_project(
    device_history, client_a
):
    # reports does not import verification: heeded/apps.py connects the series.
    [trend] = q1(client_a).trends

    assert trend.key == "device-compliance"
    assert str(trend.title) == "Device compliance over time"
    assert trend.points == [
        (dt.date(2026, 3, 27), Decimal("25.0")),
        (dt.date(2026, 3, 28), Decimal("25.0")),
        (dt.date(2026, 3, 29), Decimal("50.0")),
        (dt.date(2026, 3, 30), Decimal("50.0")),
    ]


def test_a_client_without_devices_has_no_device_trend(scene, client_a):
    assert q1(client_a).trends == []


def test_the_device_trend_is_read_in_a_fixed_number_of_queries(device_history, client_a):
    from verification.models import DeviceScoreDay

    with CaptureQueriesContext(connection) as few:
        q1(client_a)
    DeviceScoreDay.objects.bulk_create(
        DeviceScoreDay(
            client=client_a,
            day=dt.date(2026, 1, 1) + dt.timedelta(days=n),
            compliant=1,
            evaluated=2,
            taken_at=REPORT_NOW,
        )
        for n in range(60)
    )
    with CaptureQueriesContext(connection) as more:
        q1(client_a)

    assert len(more) == len(few) <= 9
