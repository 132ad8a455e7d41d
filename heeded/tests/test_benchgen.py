"""``heeded bench generate`` writes data the product itself would accept as its own."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from clients.models import Client
from heeded.benchgen import GenerateError, generate
from ledger.models import Event
from ledger.verify import verify_all
from recommendations import tallies
from recommendations.choices import Status
from recommendations.lifecycle import TRANSITIONS, Action
from recommendations.models import Recommendation, Response
from verification.models import Device, InstalledHotfix

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 10, 15, 42, 123456, tzinfo=dt.UTC)


def test_it_fills_clients_recommendations_responses_events_and_devices_that_hold_together():
    made = generate(clients=3, recommendations=120, devices=5, kbs=4, now=NOW)
    assert (made.clients, made.recommendations, made.devices) == (3, 120, 5)
    assert Client.objects.count() == 3
    assert Recommendation.objects.count() == 120
    assert Device.objects.count() == 5 and InstalledHotfix.objects.count() == made.hotfixes == 20
    assert Response.objects.count() == made.responses
    assert Event.objects.count() == made.events
    # The chains verify and the dashboard's counters agree with a recount.
    assert verify_all().ok
    assert tallies.differences() == []
    # Every status of the mix appears at this size.
    assert set(Recommendation.objects.values_list("status", flat=True)) >= {
        Status.AWAITING_RESPONSE,
        Status.DEFERRED,
        Status.VERIFIED,
        Status.REJECTED,
    }


def test_each_recommendations_events_walk_the_lifecycles_own_transitions():
    generate(clients=2, recommendations=150, now=NOW)
    walks: dict[int, list[Event]] = defaultdict(list)
    for event in Event.objects.filter(recommendation_id__isnull=False).order_by("client", "seq"):
        walks[event.recommendation_id].append(event)
    for rec in Recommendation.objects.all():
        events = walks[rec.pk]
        assert events[0].kind == "recommendation.created"
        status = Status.DRAFT
        for event in events[1:]:
            action = Action(event.kind.removeprefix("recommendation."))
            sources, target = TRANSITIONS[action]
            assert status in sources, (rec.pk, status, action)
            assert event.data["from"] == status
            status = Status(event.data["to"])
            assert target in (None, status)
        assert status == rec.status, rec.pk
        # Times never run backwards within a recommendation, nor before its client.
        times = [e.at for e in events]
        assert times == sorted(times)
        assert times[0] > rec.client.created_at


def test_every_decision_has_one_response_pointing_at_its_event():
    generate(clients=2, recommendations=100, now=NOW)
    decided = Recommendation.objects.filter(
        status__in=[Status.ACCEPTED, Status.DEFERRED, Status.REJECTED, Status.VERIFIED]
    )
    assert decided.exists()
    for rec in decided:
        (response,) = rec.responses.all()
        event = Event.objects.get(client=rec.client, seq=response.ledger_seq)
        assert event.recommendation_id == rec.pk
        assert event.data["decision"] == response.decision
        assert response.shown_text_sha256 == rec.text_sha256


class _Rollback(Exception):
    pass


def _generated_rows(seed: int) -> list[tuple[object, ...]]:
    """What ``generate`` writes with ``seed``, rolled back afterwards."""
    try:
        with transaction.atomic():
            generate(clients=2, recommendations=40, now=NOW, seed=seed)
            rows = list(
                Recommendation.objects.order_by("pk").values_list(
                    "client__name", "title", "status", "severity", "created_at", "decided_at"
                )
            )
            raise _Rollback(rows)
    except _Rollback as done:
        return done.args[0]


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    first = _generated_rows(5)
    assert not Client.objects.exists()
    assert _generated_rows(5) == first
    assert _generated_rows(6) != first


def test_it_refuses_a_database_that_holds_clients():
    generate(clients=1, recommendations=2, now=NOW)
    with pytest.raises(GenerateError, match="already holds clients"):
        generate(clients=1, recommendations=1, now=NOW)


def test_the_command_reports_what_it_wrote_and_refuses_a_used_database():
    out = io.StringIO()
    call_command(
        "bench",
        "generate",
        "--clients",
        "2",
        "--recommendations",
        "30",
        "--devices",
        "2",
        stdout=out,
        stderr=io.StringIO(),
    )
    text = out.getvalue()
    assert "generated 2 clients, 30 recommendations" in text
    assert "2 devices with 40 hotfixes" in text
    assert "ledger verified" in text
    with pytest.raises(CommandError, match="already holds clients"):
        call_command("bench", "generate", "--clients", "1", "--recommendations", "1")
