"""What the follow-up engine does when the lifecycle announces a transition
(registered in ``followup.apps``): every change goes out to the webhook endpoints that
want it, a client's decision is noted on the recommendation's open ticket, and
verification closes the ticket (verified) or reopens and escalates it (drift)."""

from __future__ import annotations

from collections.abc import Sequence

from followup.selectors import active_endpoints, open_ticket_of, with_open_ticket
from followup.services.tickets import (
    ticket_close,
    ticket_on_response,
    ticket_open_or_update,
)
from followup.services.webhooks import webhook_publish
from recommendations.events import Transitioned
from recommendations.lifecycle import Action


def publish_webhooks(event: Transitioned) -> None:
    """Queue the transition's ledger event for every webhook endpoint that wants it."""
    rec = event.recommendation
    webhook_publish(event.ledger_event, severity=rec.severity, title=rec.title)


def publish_webhooks_many(events: Sequence[Transitioned]) -> None:
    """``publish_webhooks`` for a batch of transitions: the endpoints are read once."""
    endpoints = active_endpoints()
    for event in events:
        rec = event.recommendation
        webhook_publish(
            event.ledger_event, severity=rec.severity, title=rec.title, endpoints=endpoints
        )


def note_decision_on_ticket(event: Transitioned) -> None:
    """Note a client's decision on the open follow-up ticket and move the ticket on."""
    if event.response is not None:
        ticket_on_response(event.response)


def note_decisions_on_tickets(events: Sequence[Transitioned]) -> None:
    """``note_decision_on_ticket`` for a batch: only the recommendations that have an
    open ticket (asked once for all) are looked at one by one."""
    ticketed = with_open_ticket([event.recommendation.pk for event in events])
    for event in events:
        if event.recommendation.pk in ticketed:
            note_decision_on_ticket(event)


def ticket_on_verification(event: Transitioned) -> None:
    """Verified: close the open ticket, citing the evidence. Drift: reopen the ticket
    (or update the open one) one escalation level higher, with the reason."""
    rec = event.recommendation
    ticket = open_ticket_of(rec.pk)
    if event.action == Action.MARK_VERIFIED:
        if ticket is not None:
            evidence = event.inputs.get("evidence_ref") or event.inputs.get("note") or ""
            reason = f"Verified: {evidence}" if evidence else "Verified."
            ticket_close(ticket=ticket, actor="followup", now=event.now, reason=reason)
        return
    level = ticket.escalation_level + 1 if ticket is not None else 1
    ticket_open_or_update(
        recommendation=rec,
        actor="followup",
        now=event.now,
        note=f"Drift: {event.inputs.get('reason', '')}".strip(),
        escalation_level=level,
    )
