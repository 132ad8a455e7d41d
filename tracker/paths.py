"""The two ways an import writes its rows, behind one interface, and the set-based
lookup of what a sheet's rows already are.

``recommendations.batch.Batch`` checks each row's history in memory with the
lifecycle's own steps and writes many rows set-based; ``OneByOne`` calls the services
for each change (the reference the batch is tested against, and the path for the few
rows the batch does not take: a row that updates a stored recommendation, or that
adds a client or a staff account). The importer asks the same questions of either
(``create``, ``present``, ``decide``, ``withdraw``, ``mark_ignored``,
``expire_planned_date``, ``note``), so what a row means is written once, in
``tracker.services``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from accounts.models import User
from clients.models import Client
from ledger.actors import actor_label
from ledger.models import Head
from ledger.services import event_append
from recommendations.choices import Status
from recommendations.models import Recommendation, Response
from recommendations.services import (
    recommendation_create,
    recommendation_expire_planned_date,
    recommendation_mark_ignored,
    recommendation_present,
    recommendation_withdraw,
    response_record,
)

# Ids per lookup query: well under both databases' bound-parameter limits.
CHUNK = 500


class OneByOne:
    """Each change through its service, written at once."""

    def __init__(self, *, actor: User) -> None:
        self.actor = actor

    def create(
        self,
        *,
        client: Client,
        now: dt.datetime,
        external_id_taken: Callable[[str], bool],
        **kw: Any,
    ) -> Recommendation:
        return recommendation_create(client=client, actor=self.actor, now=now, **kw)

    def present(
        self, rec: Recommendation, *, now: dt.datetime, notify_client: bool = True
    ) -> Recommendation:
        return recommendation_present(
            recommendation=rec, actor=self.actor, now=now, notify_client=notify_client
        )

    def decide(self, rec: Recommendation, **kw: Any) -> Recommendation:
        response_record(recommendation=rec, **kw)
        return rec

    def withdraw(self, rec: Recommendation, *, now: dt.datetime, reason: str) -> Recommendation:
        return recommendation_withdraw(recommendation=rec, actor=self.actor, now=now, reason=reason)

    def mark_ignored(
        self, rec: Recommendation, *, now: dt.datetime, reason: str = ""
    ) -> Recommendation:
        return recommendation_mark_ignored(
            recommendation=rec, now=now, actor=self.actor, reason=reason
        )

    def expire_planned_date(self, rec: Recommendation, *, now: dt.datetime) -> Recommendation:
        return recommendation_expire_planned_date(recommendation=rec, now=now, actor=self.actor)

    def note(
        self,
        rec: Recommendation,
        *,
        kind: str,
        at: dt.datetime,
        data: dict[str, Any],
        head_key: str | None = None,
    ) -> None:
        if head_key is not None:
            data[head_key] = Head.objects.get(client=rec.client).seq
        event_append(
            client=rec.client,
            kind=kind,
            actor=actor_label(self.actor),
            at=at,
            recommendation_id=rec.pk,
            data=data,
        )


# What the sheet says about a stored recommendation: (status, close reason, latest
# response as (decision, justification, planned for, deferred until) or None).
Stored = tuple[int, str, str, tuple[str, str, dt.date | None, dt.date | None] | None]


def stored_rows(keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], Stored]:
    """{(client id, external id): (pk, status, close reason, latest response)} of the
    stored recommendations among ``keys``: a query per few hundred keys, plus one for
    their latest responses, however many rows the sheet has."""
    by_client: dict[int, list[str]] = {}
    for client_id, external_id in keys:
        by_client.setdefault(client_id, []).append(external_id)
    found: dict[tuple[int, str], tuple[int, str, str]] = {}
    for client_id, ids in by_client.items():
        for start in range(0, len(ids), CHUNK):
            for pk, external_id, status, reason in Recommendation.objects.filter(
                client_id=client_id, external_id__in=ids[start : start + CHUNK]
            ).values_list("pk", "external_id", "status", "close_reason"):
                found[(client_id, external_id)] = (pk, status, reason)
    answered = [
        pk
        for pk, status, _ in found.values()
        if status not in (Status.IGNORED, Status.WITHDRAWN, Status.DRAFT)
    ]
    latest: dict[int, tuple[str, str, dt.date | None, dt.date | None]] = {}
    for start in range(0, len(answered), CHUNK):
        for rec_id, decision, justification, planned, deferred in (
            Response.objects.filter(recommendation_id__in=answered[start : start + CHUNK])
            .order_by("recommendation_id", "-recorded_at", "-id")
            .values_list(
                "recommendation_id", "decision", "justification", "planned_for", "deferred_until"
            )
        ):
            latest.setdefault(rec_id, (decision, justification, planned, deferred))
    return {
        key: (pk, status, reason, latest.get(pk)) for key, (pk, status, reason) in found.items()
    }
