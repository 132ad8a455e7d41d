"""What the follow-up engine does when the lifecycle announces a transition
(registered in ``followup.apps``): every change goes out to the webhook endpoints that
want it, and a client's decision is noted on the recommendation's open ticket."""

from __future__ import annotations

from followup.services.tickets import ticket_on_response
from followup.services.webhooks import webhook_publish
from recommendations.events import Transitioned


def publish_webhooks(event: Transitioned) -> None:
    """Queue the transition's ledger event for every webhook endpoint that wants it."""
    rec = event.recommendation
    webhook_publish(event.ledger_event, severity=rec.severity, title=rec.title)


def note_decision_on_ticket(event: Transitioned) -> None:
    """Note a client's decision on the open follow-up ticket and move the ticket on."""
    if event.response is not None:
        ticket_on_response(event.response)
