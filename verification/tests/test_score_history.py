"""The daily history of a client's device compliance: written once per client and day
by the worker's job, on the client's own calendar; shown on the devices page, in the
API and in the QBR's trend; never another client's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followup.jobs import JOBS
from verification.compliance import verify_pass
from verification.jobs import HISTORY_JOB, history_job
from verification.models import DeviceScoreDay
from verification.selectors import device_score_trend
from verification.services import device_score_history_take
from verification.tests.test_verify_pass import report

pytestmark = pytest.mark.django_db


@pytest.fixture
def half_compliant(make_rec, client_a, now):
    """Acme (Europe/Rome): one rule, two devices, one of them compliant: 50.0%."""
    rec = make_rec("KB5073724 present")
    report(client_a, 1, 5073724, now=now)
    report(client_a, 2, 5072653, now=now)
    verify_pass(now=now)
    return rec


def days(client) -> list[tuple[dt.date, int, int]]:
    return list(
        DeviceScoreDay.objects.filter(client=client).values_list("day", "compliant", "evaluated")
    )


def test_the_day_just_ended_is_written_once_and_a_rerun_leaves_it(half_compliant, client_a, now):
    written = device_score_history_take(now=now)
    # Later the same day the last device is patched: the day already written stays.
    report(client_a, 2, 5073724, now=now + dt.timedelta(hours=2))
    verify_pass(now=now + dt.timedelta(hours=2))
    again = device_score_history_take(now=now + dt.timedelta(hours=3))

    assert (written, again) == (1, 0)
    assert days(client_a) == [(dt.date(2026, 3, 1), 1, 2)]


def test_each_day_gets_its_own_row_and_earlier_days_survive(half_compliant, client_a, now):
    device_score_history_take(now=now)
    report(client_a, 2, 5073724, now=now + dt.timedelta(hours=2))
    verify_pass(now=now + dt.timedelta(hours=2))

    device_score_history_take(now=now + dt.timedelta(days=1))
    device_score_history_take(now=now + dt.timedelta(days=1, hours=5))

    assert days(client_a) == [(dt.date(2026, 3, 1), 1, 2), (dt.date(2026, 3, 2), 2, 2)]
    assert [row.score.percent for row in DeviceScoreDay.objects.all()] == [
        Decimal("50.0"),
        Decimal("100.0"),
    ]


def test_the_day_is_the_clients_own_calendar_day(half_compliant, client_a):
    # 23:30 UTC on 2 March is already 3 March in Rome: 2 March has ended there.
    device_score_history_take(now=dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC))

    assert [d for d, _, _ in days(client_a)] == [dt.date(2026, 3, 2)]


def test_a_client_without_devices_gets_no_row(half_compliant, client_a, client_b, now):
    device_score_history_take(now=now)

    assert days(client_b) == []
    assert len(days(client_a)) == 1


def test_the_worker_runs_it_hourly_and_says_what_it_wrote(half_compliant, client_a, now):
    job = JOBS[HISTORY_JOB]

    first, second = history_job(now), history_job(now + dt.timedelta(hours=1))

    assert job.period_of(now) != job.period_of(now + dt.timedelta(hours=1))
    assert first == "wrote the device compliance of 1 clients' last day"
    assert second == ""


def test_the_qbr_trend_is_the_stored_days_then_todays_live_figure(half_compliant, client_a, now):
    device_score_history_take(now=now)
    report(client_a, 2, 5073724, now=now)
    verify_pass(now=now)

    with CaptureQueriesContext(connection) as queries:
        points = device_score_trend(client_a, since=dt.date(2026, 1, 1), today=dt.date(2026, 3, 2))

    assert points == [
        (dt.date(2026, 3, 1), Decimal("50.0")),
        (dt.date(2026, 3, 2), Decimal("100.0")),
    ]
    assert len(queries) == 1


def test_a_client_with_nothing_to_show_has_no_trend(client_b, now):
    assert device_score_trend(client_b, since=dt.date(2026, 1, 1), today=dt.date(2026, 3, 2)) == []


def test_the_api_lists_the_days_oldest_first_from_since(
    half_compliant, client_a, admin, api_as, now
):
    device_score_history_take(now=now)
    device_score_history_take(now=now + dt.timedelta(days=1))
    url = f"/api/v1/clients/{client_a.pk}/device-compliance/history/"

    every = api_as(admin).get(url)
    since = api_as(admin).get(url, {"since": "2026-03-02"})

    assert every.status_code == 200, every.content
    assert every.json() == {
        "client": client_a.pk,
        "days": [
            {"day": "2026-03-01", "compliant": 1, "evaluated": 2, "percent": 50.0},
            {"day": "2026-03-02", "compliant": 1, "evaluated": 2, "percent": 50.0},
        ],
    }
    assert [d["day"] for d in since.json()["days"]] == ["2026-03-02"]


def test_a_bad_since_is_refused_naming_it(client_a, admin, api_as):
    answer = api_as(admin).get(
        f"/api/v1/clients/{client_a.pk}/device-compliance/history/", {"since": "March"}
    )

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "since"


def test_another_clients_history_is_a_404_and_never_listed(
    half_compliant,
    client_a,
    client_b,
    technician,
    api_as,
    now,
):
    report(client_b, 3, 5073724, now=now, name="BRAVO-WS")
    device_score_history_take(now=now)
    assert days(client_b)  # B has a history: the technician of A must not see it

    theirs = api_as(technician).get(f"/api/v1/clients/{client_b.pk}/device-compliance/history/")
    missing = api_as(technician).get("/api/v1/clients/987654/device-compliance/history/")
    ours = api_as(technician).get(f"/api/v1/clients/{client_a.pk}/device-compliance/history/")

    assert theirs.status_code == missing.status_code == 404
    assert ours.json()["days"] == [
        {"day": "2026-03-01", "compliant": 1, "evaluated": 2, "percent": 50.0}
    ]


def test_the_devices_page_shows_the_history_day_by_day(
    half_compliant, client_a, admin, client, now, frozen
):
    device_score_history_take(now=now)
    client.force_login(admin)

    page = client.get(f"/verification/clients/{client_a.pk}/devices/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="score-days"' in html
    assert "2026-03-01" in html and "50.0%" in html and "1 / 2" in html


def test_the_devices_page_says_when_no_day_is_recorded_yet(client_a, admin, client):
    client.force_login(admin)

    page = client.get(f"/verification/clients/{client_a.pk}/devices/")

    assert "No day recorded yet" in page.content.decode()
