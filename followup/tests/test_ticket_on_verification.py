"""Followup hears the lifecycle's mark_verified and drift: the open ticket is closed
with the evidence, and drift reopens it one escalation level higher."""

from __future__ import annotations

import datetime as dt

import pytest

from api.tests.support import drive
from followup.models import Ticket, TicketStatus
from followup.services.tickets import ticket_open_or_update
from recommendations import services
from recommendations.choices import Status

pytestmark = pytest.mark.django_db


def test_marking_verified_closes_the_open_ticket_citing_the_evidence(draft, admin, now):
    rec = drive(draft, Status.IMPLEMENTED, actor=admin, now=now)
    ticket, _ = ticket_open_or_update(recommendation=rec, actor=admin, now=now, note="Roll out.")

    services.recommendation_mark_verified(
        recommendation=rec, actor=admin, now=now, evidence_ref="conditional-access export"
    )

    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.notes.last().text == "Verified: conditional-access export"


def test_marking_verified_without_a_ticket_opens_none(draft, admin, now):
    rec = drive(draft, Status.VERIFIED, actor=admin, now=now)
    assert rec.status == Status.VERIFIED
    assert not Ticket.objects.exists()


def test_drift_reopens_the_ticket_escalated_with_the_reason(draft, admin, now):
    rec = drive(draft, Status.IMPLEMENTED, actor=admin, now=now)
    ticket_open_or_update(recommendation=rec, actor=admin, now=now, note="Roll out.")
    services.recommendation_mark_verified(recommendation=rec, actor=admin, now=now)
    later = now + dt.timedelta(days=40, microseconds=250)

    services.recommendation_drift(
        recommendation=rec, actor=admin, now=later, reason="MFA was switched off for 3 users."
    )

    reopened = Ticket.objects.exclude(status=TicketStatus.CLOSED).get()
    assert reopened.escalation_level == 1
    assert reopened.opened_at == later
    assert reopened.notes.last().text == "Drift: MFA was switched off for 3 users."


def test_drift_with_a_ticket_still_open_raises_its_level(draft, admin, now):
    rec = drive(draft, Status.VERIFIED, actor=admin, now=now)
    ticket, _ = ticket_open_or_update(
        recommendation=rec, actor=admin, now=now, note="Watch it.", escalation_level=2
    )

    services.recommendation_drift(recommendation=rec, actor=admin, now=now, reason="KB removed.")

    ticket.refresh_from_db()
    assert ticket.escalation_level == 3 and ticket.status != TicketStatus.CLOSED
    assert Ticket.objects.count() == 1
