"""A PSA status callback, applied once per ``webhook-id``: a note on the ticket, or its
closing when the PSA reports it done. The view (``followup.callbacks``) authenticates
the request first."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import IntegrityError, transaction

from followup.models import PsaCallback, Ticket, TicketStatus
from followup.services.tickets import ticket_close, ticket_note_add
from lib.errors import ServiceError

CLOSED_STATUSES = {"complete", "completed", "closed", "resolved"}
EXTERNAL_ID = re.compile(r"heeded-ticket-(\d+)")


class Msg:
    BODY = "The body must be a JSON object with external_id and status."
    UNKNOWN_TICKET = "No ticket has the external id {external_id!r}."


class CallbackError(ServiceError):
    """A refused PSA callback; ``status`` is the HTTP status the PSA is answered (401
    for bad credentials, 404 for an unknown ticket, 400 for a bad body)."""

    def __init__(self, message: str, *, status: int, field: str | None = None) -> None:
        super().__init__(message, field=field, http_status=status)


def psa_callback_record(
    *, webhook_id: str, payload: dict[str, Any], now: dt.datetime
) -> tuple[PsaCallback, bool]:
    """Apply one callback once; returns (row, True) the first time, (row, False) after."""
    external_id = payload.get("external_id")
    status = payload.get("status")
    if not isinstance(external_id, str) or not isinstance(status, str):
        raise CallbackError(Msg.BODY, status=400)
    match = EXTERNAL_ID.fullmatch(external_id)
    ticket = (
        Ticket.objects.select_related("client").filter(pk=match.group(1)).first() if match else None
    )
    if ticket is None:
        raise CallbackError(Msg.UNKNOWN_TICKET.format(external_id=external_id), status=404)
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = PsaCallback.objects.create(
                    webhook_id=webhook_id[:100], ticket=ticket, received_at=now, payload=payload
                )
        except IntegrityError:
            return PsaCallback.objects.get(webhook_id=webhook_id[:100]), False
        note = str(payload.get("note") or "").strip()
        text = f"PSA reports status {status!r}." + (f" {note}" if note else "")
        if status.lower() in CLOSED_STATUSES and ticket.status != TicketStatus.CLOSED:
            ticket_close(ticket=ticket, actor="psa", now=now, reason=text)
        else:
            ticket_note_add(ticket=ticket, actor="psa", text=text, now=now)
    return row, True
