"""The batch path walks the same transitions as the one-by-one services and records
the same events: a recommendation taken from draft to verified either way ends with
the same fields and the same ledger event data."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.models import Event
from recommendations import services
from recommendations.batch import Batch
from recommendations.choices import Channel, Status
from recommendations.lifecycle import TransitionNotAllowed
from recommendations.models import Recommendation

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)
COMPARED = (
    "status",
    "presented_at",
    "response_due_at",
    "decided_at",
    "planned_for",
    "work_started_at",
    "implemented_at",
    "verified_at",
    "next_action_at",
)


def _walk_one_by_one(client, contact, admin, now):
    rec = services.recommendation_create(
        client=client,
        actor=admin,
        now=now,
        title="Turn on MFA",
        body="Everywhere.",
        severity="high",
    )
    services.recommendation_present(recommendation=rec, actor=admin, now=now + HOUR)
    services.response_record(
        recommendation=rec,
        decision="accepted",
        channel=Channel.EMAIL,
        responder=contact,
        now=now + 2 * HOUR,
        planned_for=(now + dt.timedelta(days=9)).date(),
    )
    services.recommendation_start_work(recommendation=rec, actor=admin, now=now + 3 * HOUR)
    services.recommendation_mark_implemented(
        recommendation=rec, actor=admin, now=now + 4 * HOUR, note=" done "
    )
    services.recommendation_mark_verified(
        recommendation=rec, actor=admin, now=now + 5 * HOUR, evidence_ref="KB5034441"
    )
    return Recommendation.objects.get(pk=rec.pk)


def _walk_batched(client, contact, admin, now):
    batch = Batch(actor=admin)
    rec = batch.create(
        client=client,
        now=now,
        external_id_taken=lambda wanted: False,
        title="Turn on MFA",
        body="Everywhere.",
        severity="high",
    )
    batch.present(rec, now=now + HOUR)
    batch.decide(
        rec,
        decision="accepted",
        channel=Channel.EMAIL,
        responder=contact,
        now=now + 2 * HOUR,
        planned_for=(now + dt.timedelta(days=9)).date(),
    )
    batch.start_work(rec, now=now + 3 * HOUR)
    batch.mark_implemented(rec, now=now + 4 * HOUR, note=" done ")
    batch.mark_verified(rec, now=now + 5 * HOUR, evidence_ref="KB5034441")
    batch.write()
    return Recommendation.objects.get(pk=rec.pk)


def _events(rec):
    return [
        (e.kind, e.actor, e.at, e.data)
        for e in Event.objects.filter(recommendation_id=rec.pk).order_by("seq")
    ]


def test_work_steps_in_a_batch_record_what_the_services_record(client_a, contact_a, admin, now):
    single = _walk_one_by_one(client_a, contact_a, admin, now)
    batched = _walk_batched(client_a, contact_a, admin, now)

    assert batched.status == Status.VERIFIED
    for field in COMPARED:
        assert getattr(batched, field) == getattr(single, field), field
    one, many = _events(single), _events(batched)
    assert many == one
    assert len(many) == 6


def test_a_batch_refuses_work_steps_the_table_does_not_allow(client_a, admin, now):
    batch = Batch(actor=admin)
    rec = batch.create(
        client=client_a,
        now=now,
        external_id_taken=lambda wanted: False,
        title="T",
        body="B",
        severity="low",
    )
    with pytest.raises(TransitionNotAllowed):
        batch.start_work(rec, now=now)
    with pytest.raises(TransitionNotAllowed):
        batch.mark_implemented(rec, now=now)
    assert rec.status == Status.DRAFT
