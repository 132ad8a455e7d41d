"""The weekly digest per owner."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from followup.digest import digest_enqueue, digests_at
from followup.models import OutboxMessage
from followup.sweep import sweep

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def test_an_owner_gets_one_digest_a_week_with_overdue_items_and_stale_tickets(
    presented, now, django_assert_num_queries
):
    sweep(now=now + 8 * DAY)  # escalation 1: a ticket assigned to the owner, Ada
    at = now + 16 * DAY
    with django_assert_num_queries(2):
        (digest,) = digests_at(at)
    assert ([r.pk for r in digest.overdue], len(digest.stale)) == ([presented.pk], 1)
    (message,) = digest_enqueue(now=at)
    assert message.payload["to"] == ["ada@msp.example"]
    assert message.payload["subject"] == (
        "Weekly follow-up: 1 overdue item(s), 1 ticket(s) without update"
    )
    text = message.payload["text"]
    assert "Require MFA for all remote access" in text
    assert digest_enqueue(now=at + DAY)[0].pk == message.pk  # same week: same message
    assert OutboxMessage.objects.filter(idempotency_key__startswith="digest:").count() == 1


def test_the_digest_command_refuses_a_bad_stale_days(presented):
    with pytest.raises(CommandError, match="--stale-days must be at least 1"):
        call_command("digest", "--stale-days", "0", stdout=io.StringIO())
    assert not OutboxMessage.objects.filter(idempotency_key__startswith="digest:").exists()
