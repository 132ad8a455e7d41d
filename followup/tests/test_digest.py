"""The weekly digest per owner, inside the owner's one e-mail of the day."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command

from followup.digest import DIGEST_HEADER, digests_at
from followup.models import JobRun, OutboxMessage
from followup.sweep import act, digest_send, notify, plan, sweep

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def _mail_to(address: str) -> list[OutboxMessage]:
    return [m for m in OutboxMessage.objects.order_by("id") if m.payload["to"] == [address]]


def test_an_owner_gets_one_digest_a_week_with_overdue_items_and_stale_tickets(
    presented, now, django_assert_num_queries
):
    sweep(now=now + 8 * DAY)  # escalation 1: a ticket assigned to the owner, Ada
    at = now + 16 * DAY
    with django_assert_num_queries(2):
        (digest,) = digests_at(at)
    assert ([r.pk for r in digest.overdue], len(digest.stale)) == ([presented.pk], 1)
    (action,) = digest_send(now=at)
    assert "ada@msp.example: weekly digest" in action.text
    (message,) = [m for m in _mail_to("ada@msp.example") if m.created_at == at]
    assert message.idempotency_key == f"followup:staff:{presented.owner_id}:2026-03-18"
    assert message.payload["headers"] == {DIGEST_HEADER: "2026-W12"}
    assert message.payload["subject"] == (
        "Weekly follow-up: 1 overdue item(s), 1 ticket(s) without update"
    )
    assert "Require MFA for all remote access" in message.payload["text"]
    # Twice the same day, the next day, a sweep: the week's digest is not sent again.
    assert digest_send(now=at) == []
    assert digest_send(now=at + DAY) == []
    sweep(now=at + DAY + dt.timedelta(hours=1))
    assert not OutboxMessage.objects.filter(
        created_at__gt=at, **{f"payload__headers__{DIGEST_HEADER}": "2026-W12"}
    ).exists()
    assert JobRun.objects.get(job="digest", period="2026-W12").finished_at == at


def test_a_digest_day_with_notice_items_sends_one_message_holding_both(presented, now):
    """Ada owns an item whose escalation falls on the digest day, and ``heeded digest``
    runs between the sweep's two phases: one e-mail holds the day's escalation and the
    weekly check, and the notify phase sends nothing more."""
    sweep(now=now + 8 * DAY)  # escalation 1 (ticket), Ada told that day
    at = now + 15 * DAY + dt.timedelta(microseconds=250_000)
    act(now=at)
    plan(now=at)
    (action,) = digest_send(now=at)
    assert action.text.endswith(": 1 item(s) and weekly digest")
    assert [a.text for a in notify(now=at) if "to staff" in a.text] == []
    (message,) = [m for m in _mail_to("ada@msp.example") if m.created_at.date() == at.date()]
    text = message.payload["text"]
    assert "Overdue: the answer was due" in text
    assert "Overdue items you own (1):" in text
    assert message.payload["headers"][DIGEST_HEADER] == "2026-W12"


def test_the_digest_folds_into_the_daily_notice(presented, now):
    sweep(now=now + 8 * DAY)  # escalation 1: a ticket, Ada is told
    at = now + 15 * DAY + dt.timedelta(microseconds=250_000)
    JobRun.objects.create(
        job="digest", period="2026-W12", claimed_by="t", started_at=at, lease_until=at
    )
    JobRun.objects.filter(job="digest").update(summary="7")
    sweep(now=at)  # escalation 2 on the digest day: one message with both
    (message,) = [m for m in _mail_to("ada@msp.example") if m.created_at == at]
    text = message.payload["text"]
    assert "Overdue: the answer was due" in text  # the day's step
    assert "Overdue items you own (1):" in text  # the digest
    # The ticket was updated by today's escalation: not stale.
    assert "Tickets assigned to you with no update for 7 days or more (0):" in text
    assert message.payload["headers"][DIGEST_HEADER] == "2026-W12"
    assert message.payload["subject"] == (
        "Follow-up today: 1 item (1 client), weekly check: 1 overdue, 0 ticket(s) without update"
    )
    assert digest_send(now=at + dt.timedelta(hours=1)) == []
    assert len([m for m in _mail_to("ada@msp.example") if m.created_at.date() == at.date()]) == 1


def test_an_owner_told_today_gets_the_digest_the_next_day(presented, now):
    sweep(now=now + 8 * DAY)
    at = now + 15 * DAY + dt.timedelta(microseconds=250_000)
    sweep(now=at)  # escalation 2: Ada is told today, before the digest is opened
    assert digest_send(now=at + dt.timedelta(hours=1)) == []
    assert len([m for m in _mail_to("ada@msp.example") if m.created_at.date() == at.date()]) == 1
    sweep(now=at + DAY)
    (message,) = [m for m in _mail_to("ada@msp.example") if m.created_at == at + DAY]
    assert message.payload["headers"] == {DIGEST_HEADER: "2026-W12"}


def test_the_digest_command_refuses_a_bad_stale_days(presented):
    with pytest.raises(CommandError, match="--stale-days must be at least 1"):
        call_command("digest", "--stale-days", "0", stdout=io.StringIO())
    assert not JobRun.objects.filter(job="digest").exists()


def test_the_digest_command_prints_what_it_sent(presented, now):
    sweep(now=now + 8 * DAY)
    out = io.StringIO()
    call_command("digest", "--now", (now + 16 * DAY).isoformat(), stdout=out)
    assert out.getvalue().endswith("notice to staff ada@msp.example: weekly digest\n")
    out = io.StringIO()
    call_command("digest", "--now", (now + 16 * DAY).isoformat(), stdout=out)
    assert out.getvalue() == ""
