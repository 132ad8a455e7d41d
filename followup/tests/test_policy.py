"""Policies: per-client overrides set by an admin, and the QBR-based re-review."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from clients.models import ClientPolicy
from clients.policy import policy_for
from ledger.models import Event
from recommendations.deadlines import next_qbr_date, rejection_review_at

pytestmark = pytest.mark.django_db


def test_an_admin_sets_a_clients_tier_and_it_is_in_the_ledger(client_a, admin):
    out = io.StringIO()
    call_command(
        "policy",
        "set",
        client_a.slug,
        "--as",
        "ada",
        "--tier",
        "Gold",
        "--critical-days",
        "3",
        "--business-days",
        "--review-at-next-qbr",
        stdout=out,
    )
    assert out.getvalue().startswith(
        "acme-dental: respond within critical 3, high 10, medium 14, low 30 (business days)"
    )
    assert out.getvalue().rstrip().endswith("re-review rejections at the next QBR")
    event = Event.objects.get(kind="followup.policy")
    assert event.data == {
        "tier": "Gold",
        "critical_days": 3,
        "business_days": True,
        "review_at_next_qbr": True,
    }


def test_a_bad_policy_is_refused_and_nothing_is_stored(client_a, admin, technician):
    with pytest.raises(
        CommandError, match=r"^critical_days: Must be a whole number from 1 to 365\.$"
    ):
        call_command(
            "policy", "set", client_a.slug, "--as", "ada", "--tier", "Gold", "--critical-days", "0"
        )
    with pytest.raises(CommandError, match=r"^Only an admin may change follow-up policies\.$"):
        call_command("policy", "set", client_a.slug, "--as", "tess", "--tier", "Gold")
    assert not ClientPolicy.objects.exists()
    assert not Event.objects.filter(kind="followup.policy").exists()


def test_a_rejection_can_come_back_at_the_next_qbr(client_a):
    ClientPolicy.objects.create(client=client_a, tier="QBR", review_at_next_qbr=True)
    decided = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.UTC)
    assert next_qbr_date(tz=client_a.tz, cadence_months=3, after=decided) == dt.date(2026, 7, 1)
    # Midnight in Rome (UTC+2 in July).
    review = rejection_review_at(
        policy=policy_for(client_a), decided_at=decided, tz=client_a.tz, qbr_cadence_months=3
    )
    assert review == dt.datetime(2026, 6, 30, 22, 0, tzinfo=dt.UTC)
