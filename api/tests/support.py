"""Helpers for the API tests: error tuples, what a refusal must leave unchanged, and
driving a recommendation into any lifecycle status through the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounts.models import User
from ledger.models import Head
from recommendations import services
from recommendations.choices import Channel, Status
from recommendations.models import Recommendation

PLANNED = dt.date(2026, 4, 15)
DEFER_TO = dt.date(2026, 6, 1)


def errors(response: Any) -> list[tuple[str | None, str, str]]:
    """The response's errors as (field, code, message) tuples."""
    return [(e["field"], e["code"], e["message"]) for e in response.json()["errors"]]


def head_of(rec: Recommendation) -> tuple[int, str]:
    head = Head.objects.get(client_id=rec.client_id)
    return head.seq, head.hash


def snapshot(rec: Recommendation) -> tuple[str, tuple[int, str], int]:
    """What must not change when a request is refused: status, ledger head, responses."""
    fresh = Recommendation.objects.get(pk=rec.pk)
    return fresh.status, head_of(fresh), fresh.responses.count()


def drive(rec: Recommendation, to: str, *, actor: User, now: dt.datetime) -> Recommendation:
    """Take a draft into status `to` through the services, the way the app would."""
    contact = rec.contact

    def answer(decision: str, **extra: Any) -> None:
        services.response_record(
            recommendation=rec,
            decision=decision,
            channel=Channel.PHONE,
            recorded_by=actor,
            responder=contact,
            now=now,
            **extra,
        )

    if to == Status.DRAFT:
        return rec
    if to == Status.WITHDRAWN:
        return services.recommendation_withdraw(
            recommendation=rec, actor=actor, now=now, reason="Superseded."
        )
    services.recommendation_present(recommendation=rec, actor=actor, now=now)
    if to == Status.IGNORED:
        services.recommendation_mark_ignored(recommendation=rec, now=now)
    elif to == Status.DEFERRED:
        answer("deferred", deferred_until=DEFER_TO, justification="Budget next quarter.")
    elif to == Status.REJECTED:
        answer("rejected", justification="We accept the risk.")
    elif to in (Status.ACCEPTED, Status.IN_PROGRESS, Status.IMPLEMENTED, Status.VERIFIED):
        answer("accepted", planned_for=PLANNED)
        if to in (Status.IN_PROGRESS, Status.IMPLEMENTED, Status.VERIFIED):
            services.recommendation_start_work(recommendation=rec, actor=actor, now=now)
        if to in (Status.IMPLEMENTED, Status.VERIFIED):
            services.recommendation_mark_implemented(recommendation=rec, actor=actor, now=now)
        if to == Status.VERIFIED:
            services.recommendation_mark_verified(recommendation=rec, actor=actor, now=now)
    rec = Recommendation.objects.get(pk=rec.pk)
    assert rec.status == to
    return rec
