"""Bring recommendations into any status through the services, and snapshot the
database so a refused change can be shown to have changed nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.forms.models import model_to_dict

from followup.models import OutboxMessage
from ledger.models import Event, Head
from recommendations import services
from recommendations.choices import Channel, Status
from recommendations.models import Recommendation, Response

DAY = dt.timedelta(days=1)


def respond(rec: Recommendation, decision: str, *, user, contact, now: dt.datetime, **extra: Any):
    defaults: dict[str, Any] = {"justification": "Budget is committed to the ERP migration."}
    if decision == "accepted":
        defaults["planned_for"] = (now + 20 * DAY).date()
    if decision == "deferred":
        defaults["deferred_until"] = (now + 30 * DAY).date()
    defaults.update(extra)
    return services.response_record(
        recommendation=rec,
        decision=decision,
        channel=Channel.PHONE,
        recorded_by=user,
        responder=contact,
        now=now,
        **defaults,
    )


def bring_to(
    status: str, rec: Recommendation, *, user, contact, now: dt.datetime
) -> Recommendation:
    """Walk a draft to ``status`` along the shortest path of the lifecycle."""
    s = Status
    if status == s.DRAFT:
        return rec
    rec = services.recommendation_present(recommendation=rec, actor=user, now=now)
    if status == s.AWAITING_RESPONSE:
        return rec
    if status in (s.ACCEPTED, s.IN_PROGRESS, s.IMPLEMENTED, s.VERIFIED):
        respond(rec, "accepted", user=user, contact=contact, now=now)
        if status in (s.IN_PROGRESS,):
            services.recommendation_start_work(recommendation=rec, actor=user, now=now)
        if status in (s.IMPLEMENTED, s.VERIFIED):
            services.recommendation_mark_implemented(recommendation=rec, actor=user, now=now)
        if status == s.VERIFIED:
            services.recommendation_mark_verified(recommendation=rec, actor=user, now=now)
    elif status in (s.DEFERRED, s.REJECTED):
        respond(rec, status, user=user, contact=contact, now=now)
    elif status == s.IGNORED:
        services.recommendation_mark_ignored(recommendation=rec, now=now)
    elif status == s.WITHDRAWN:
        services.recommendation_withdraw(
            recommendation=rec, actor=user, now=now, reason="Superseded"
        )
    rec.refresh_from_db()
    assert rec.status == status
    return rec


def snapshot(rec: Recommendation) -> dict[str, Any]:
    """Everything a refused change must leave untouched."""
    rec = Recommendation.objects.get(pk=rec.pk)
    head = Head.objects.get(client_id=rec.client_id)
    return {
        "recommendation": model_to_dict(rec),
        "updated_at": rec.updated_at,
        "head": (head.seq, head.hash),
        "events": Event.objects.count(),
        "responses": Response.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }
