"""Meetings and calls: the decisions staff took down together, recorded all or none."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from accounts.permissions import Capability, require
from answers.errors import AnswerRefused, Msg
from answers.models import Meeting, Proposal
from answers.services.staff import staff_answer_record
from clients.models import Client, Contact
from recommendations.choices import Channel
from recommendations.models import Recommendation, Response


@dataclass
class MeetingDecision:
    recommendation: Recommendation
    decision: str
    responder_name: str
    planned_for: dt.date | None = None
    deferred_until: dt.date | None = None
    justification: str = ""
    responder: Contact | None = None


def meeting_record(
    *,
    client: Client,
    channel: str,
    held_on: dt.date,
    attendees: str,
    decisions: list[MeetingDecision],
    recorded_by: User,
    now: dt.datetime,
    notes: str = "",
) -> tuple[Meeting, list[Response | Proposal]]:
    """Record the decisions staff took down in a meeting or a call, all or none. Each
    goes through ``staff_answer_record``: one from someone without authority is a
    Proposal in the returned list, not a Response."""
    require(recorded_by, Capability.WRITE)
    if channel not in (Channel.MEETING, Channel.PHONE):
        raise AnswerRefused(f"Unknown channel {channel!r}.", field="channel")
    if not attendees.strip():
        raise AnswerRefused(Msg.ATTENDEES_REQUIRED, field="attendees", code="required")
    if not decisions:
        raise AnswerRefused(Msg.NO_DECISIONS, field="decisions", code="required")
    if any(d.recommendation.client_id != client.pk for d in decisions):
        raise AnswerRefused(Msg.OTHER_CLIENT, field="decisions")
    with transaction.atomic():
        meeting = Meeting.objects.create(
            client=client,
            channel=channel,
            held_on=held_on,
            attendees=attendees.strip(),
            notes=notes.strip(),
            recorded_by=recorded_by,
            recorded_at=now,
        )
        results = [
            staff_answer_record(
                recommendation=d.recommendation,
                decision=d.decision,
                channel=channel,
                now=now,
                recorded_by=recorded_by,
                responder=d.responder,
                responder_name=d.responder_name,
                justification=d.justification,
                planned_for=d.planned_for,
                deferred_until=d.deferred_until,
                attendees=meeting.attendees,
                evidence_ref=f"meeting:{meeting.pk}",
            )
            for d in decisions
        ]
    return meeting, results
