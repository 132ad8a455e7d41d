""" "Overdue" means one thing: the model, the selectors and the deadline maths agree,
in each client's own time zone, also in the hour around midnight."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from clients.services import client_create, contact_create
from recommendations import services
from recommendations.choices import Channel
from recommendations.models import Recommendation
from recommendations.selectors import overdue_q

pytestmark = pytest.mark.django_db

MADE = dt.datetime(2026, 3, 1, 9, 15, 30, 123456, tzinfo=dt.UTC)
PLANNED = dt.date(2026, 3, 2)
ZONES = ["Europe/Rome", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"]


@pytest.fixture
def accepted_everywhere(admin) -> dict[str, Recommendation]:
    """One accepted item planned for 2 March 2026 in each of five time zones."""
    recs = {}
    for n, zone in enumerate(ZONES):
        client = client_create(
            name=f"Studio dell'Orologio nº{n}",
            domains=[f"orologio{n}.example"],
            actor=admin,
            now=MADE,
            time_zone=zone,
        )
        contact = contact_create(
            client=client,
            name="Zoë D'Amico",
            email=f"zoe@orologio{n}.example",
            is_decision_maker=True,
            actor=admin,
            now=MADE,
        )
        rec = services.recommendation_create(
            client=client,
            actor=admin,
            now=MADE,
            title="Patch the VPN",
            body="Now.",
            severity="high",
        )
        services.recommendation_present(recommendation=rec, actor=admin, now=MADE)
        services.response_record(
            recommendation=rec,
            decision="accepted",
            channel=Channel.PHONE,
            recorded_by=admin,
            responder=contact,
            planned_for=PLANNED,
            now=MADE,
        )
        recs[zone] = rec
    return recs


def overdue_by_selector(at: dt.datetime) -> set[str]:
    rows = Recommendation.objects.filter(overdue_q(at)).select_related("client")
    return {r.client.time_zone for r in rows}


def overdue_by_model(at: dt.datetime) -> set[str]:
    rows = Recommendation.objects.select_related("client")
    return {r.client.time_zone for r in rows if r.is_overdue(at)}


def test_at_half_past_eleven_in_rome_the_planned_day_is_not_over_yet(accepted_everywhere):
    at = dt.datetime(2026, 3, 2, 23, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Rome"))
    assert "Europe/Rome" not in overdue_by_selector(at)
    assert overdue_by_selector(at) == overdue_by_model(at)


def test_at_half_past_midnight_in_rome_the_item_is_overdue_though_utc_is_still_on_the_2nd(
    accepted_everywhere,
):
    at = dt.datetime(2026, 3, 3, 0, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Rome"))
    assert at.astimezone(dt.UTC).date() == PLANNED
    assert "Europe/Rome" in overdue_by_selector(at)
    assert "UTC" not in overdue_by_selector(at)
    assert overdue_by_selector(at) == overdue_by_model(at)


def test_new_york_is_not_overdue_while_its_evening_is_already_the_next_utc_day(
    accepted_everywhere,
):
    at = dt.datetime(2026, 3, 2, 21, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert at.astimezone(dt.UTC).date() == PLANNED + dt.timedelta(days=1)
    assert "America/New_York" not in overdue_by_selector(at)
    assert "UTC" in overdue_by_selector(at)
    assert overdue_by_selector(at) == overdue_by_model(at)


@pytest.mark.parametrize("hours", range(-14, 40, 1))
def test_the_selector_and_the_model_agree_hour_by_hour(accepted_everywhere, hours):
    at = dt.datetime(2026, 3, 2, 0, 0, 0, 654321, tzinfo=dt.UTC) + dt.timedelta(hours=hours)
    assert overdue_by_selector(at) == overdue_by_model(at)


@pytest.mark.parametrize("hours", range(-14, 40, 3))
def test_naming_only_the_clients_zones_gives_the_same_answer(accepted_everywhere, admin, hours):
    from recommendations.selectors import overdue_first_for

    at = dt.datetime(2026, 3, 2, 0, 0, 0, 654321, tzinfo=dt.UTC) + dt.timedelta(hours=hours)
    narrowed = Recommendation.objects.filter(overdue_q(at, zones=ZONES)).select_related("client")
    first, more = overdue_first_for(admin, now=at, limit=10, zones=ZONES)
    assert {r.client.time_zone for r in narrowed} == overdue_by_model(at)
    assert {r.client.time_zone for r in first} == overdue_by_model(at)
    assert more is False
