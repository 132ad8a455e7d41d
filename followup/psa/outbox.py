"""Mirror built-in tickets to the PSA through the outbox.

Every ticket event (opened, updated, note, assigned, closed) queues, in its own
transaction, one e-mail for the PSA's mailbox parser (when ``HEEDED_PSA_EMAIL_TO`` is
set) and one Autotask call (when ``HEEDED_AUTOTASK_URL`` is set). The e-mail subject
carries the stable token ``[Heeded T<ticket id>]`` so the PSA threads every mail of
a ticket into one PSA ticket. Autotask calls are delivered by the worker; each one
first makes sure the twin exists (``create`` is idempotent through ExternalID), so
calls that arrive out of order after retries still land on one Autotask ticket.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from clients.models import Client
from followup.choices import OutboxKind
from followup.delivery import PermanentDeliveryError, handles
from followup.models import OutboxMessage, Ticket
from followup.psa.autotask import AutotaskAdapter
from followup.services.outbox import outbox_enqueue, outbox_enqueue_email

STATUS_FOR_EVENT = {"opened": "new", "closed": "complete"}


def subject_token(ticket: Ticket) -> str:
    return f"[Heeded T{ticket.pk}]"


def external_key(ticket: Ticket | int) -> str:
    pk = ticket if isinstance(ticket, int) else ticket.pk
    return f"heeded-ticket-{pk}"


def psa_enqueue(*, ticket: Ticket, event: str, note: str, seq: int, now: dt.datetime) -> None:
    """Queue this ticket event for the configured PSA channels (caller's transaction)."""
    rec_id = ticket.recommendation_id
    if settings.HEEDED_PSA_EMAIL_TO:
        outbox_enqueue_email(
            key=f"psa-mail:{ticket.pk}:{seq}",
            to=[settings.HEEDED_PSA_EMAIL_TO],
            subject=f"{subject_token(ticket)} {ticket.title}",
            text=(
                f"Ticket event: {event}\n"
                f"Client: {ticket.client.name}\n"
                f"Status: {ticket.get_status_display()}, "
                f"escalation level {ticket.escalation_level}\n"
                f"Recommendation: {settings.HEEDED_BASE_URL}/recommendations/{rec_id}/\n\n"
                f"{note}\n"
            ),
            now=now,
            client=ticket.client,
            recommendation_id=rec_id,
            headers={"X-Heeded-Ticket": str(ticket.pk)},
        )
    if settings.HEEDED_AUTOTASK_URL:
        outbox_enqueue(
            kind=OutboxKind.PSA,
            key=f"psa:autotask:{ticket.pk}:{seq}",
            payload={
                "psa": "autotask",
                "ticket": ticket.pk,
                "event": event,
                "note": note,
                "subject": f"Autotask: {event} {subject_token(ticket)}",
            },
            now=now,
            client=ticket.client,
            recommendation_id=rec_id,
        )


def company_of(client: Client) -> int:
    """The Autotask company a client's tickets go to: its own, else the default."""
    return client.psa_company_id or settings.HEEDED_AUTOTASK_COMPANY_ID


def autotask(company_id: int) -> AutotaskAdapter:
    return AutotaskAdapter(
        base_url=settings.HEEDED_AUTOTASK_URL,
        integration_code=settings.HEEDED_AUTOTASK_INTEGRATION_CODE,
        username=settings.HEEDED_AUTOTASK_USERNAME,
        secret=settings.HEEDED_AUTOTASK_SECRET,
        company_id=company_id,
        queue_id=settings.HEEDED_AUTOTASK_QUEUE_ID or None,
    )


@handles(OutboxKind.PSA)
def deliver_psa(message: OutboxMessage) -> None:
    payload = message.payload
    ticket = (
        Ticket.objects.select_related("recommendation", "client")
        .filter(pk=payload.get("ticket"))
        .first()
    )
    if ticket is None or payload.get("psa") != "autotask":
        raise PermanentDeliveryError(f"Nothing to deliver for {message.idempotency_key}.")
    if not settings.HEEDED_AUTOTASK_URL:
        raise PermanentDeliveryError("Autotask is not configured (HEEDED_AUTOTASK_URL).")
    company = company_of(ticket.client)
    if not company:
        raise PermanentDeliveryError(
            f"No Autotask company for {ticket.client.name}: set the client's PSA company ID "
            "(client settings) or HEEDED_AUTOTASK_COMPANY_ID."
        )
    adapter = autotask(company)
    twin = adapter.create(
        key=external_key(ticket),
        title=ticket.title,
        description=f"{ticket.recommendation.title}\n\n{settings.HEEDED_BASE_URL}"
        f"/recommendations/{ticket.recommendation_id}/",
        priority=ticket.recommendation.severity,
    )
    if ticket.external_ref != str(twin):
        Ticket.objects.filter(pk=ticket.pk).update(external_ref=str(twin))
    event = payload.get("event", "")
    if payload.get("note"):
        adapter.add_note(twin, title=f"Heeded: {event}", text=payload["note"])
    if event == "closed":
        adapter.close(twin)
    elif ticket.status == "waiting" and event == "updated":
        adapter.update_status(twin, "waiting")
