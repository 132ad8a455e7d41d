"""PSA status callbacks: the PSA tells Heeded that a mirrored ticket changed.

The request is authenticated like an outbound webhook, with the Standard Webhooks
headers signed by ``HEEDED_PSA_CALLBACK_SECRET``, and must be fresh (5 minutes).
Each ``webhook-id`` is acted on once: a repeated delivery answers 200 and changes
nothing. The body names the ticket by the ExternalID Heeded gave its twin:

    {"external_id": "heeded-ticket-12", "status": "complete", "note": "Done on site."}
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from followup import tickets
from followup.models import PsaCallback, Ticket, TicketStatus
from followup.webhooks import verify
from lib.errors import ServiceError

TOLERANCE = dt.timedelta(minutes=5)
CLOSED_STATUSES = {"complete", "completed", "closed", "resolved"}
EXTERNAL_ID = re.compile(r"heeded-ticket-(\d+)")


class Msg:
    HEADERS = "The webhook-id, webhook-timestamp and webhook-signature headers are required."
    STALE = "The webhook-timestamp is more than 5 minutes away from now."
    SIGNATURE = "The signature does not match."
    BODY = "The body must be a JSON object with external_id and status."
    UNKNOWN_TICKET = "No ticket has the external id {external_id!r}."


class CallbackError(ServiceError):
    """A refused PSA callback; ``status`` is the HTTP status the PSA is answered (401
    for bad credentials, 404 for an unknown ticket, 400 for a bad body)."""

    def __init__(self, message: str, *, status: int, field: str | None = None) -> None:
        super().__init__(message, field=field, http_status=status)


def _authenticate(request: HttpRequest, now: dt.datetime) -> str:
    msg_id = request.headers.get("webhook-id", "")
    stamp = request.headers.get("webhook-timestamp", "")
    signature = request.headers.get("webhook-signature", "")
    if not (msg_id and stamp.isdigit() and signature):
        raise CallbackError(Msg.HEADERS, status=401)
    if abs(now - dt.datetime.fromtimestamp(int(stamp), tz=dt.UTC)) > TOLERANCE:
        raise CallbackError(Msg.STALE, status=401)
    body = request.body.decode("utf-8", "replace")
    if not verify(
        secret=settings.HEEDED_PSA_CALLBACK_SECRET,
        msg_id=msg_id,
        timestamp=int(stamp),
        body=body,
        header=signature,
    ):
        raise CallbackError(Msg.SIGNATURE, status=401)
    return msg_id


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
            tickets.ticket_close(ticket=ticket, actor="psa", now=now, reason=text)
        else:
            tickets.ticket_note_add(ticket=ticket, actor="psa", text=text, now=now)
    return row, True


@csrf_exempt
@require_POST
def psa_callback(request: HttpRequest) -> JsonResponse:
    if not settings.HEEDED_PSA_CALLBACK_SECRET:
        raise Http404("PSA callbacks are not enabled.")
    now = timezone.now()
    try:
        webhook_id = _authenticate(request, now)
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise CallbackError(Msg.BODY, status=400)
        _, first = psa_callback_record(webhook_id=webhook_id, payload=payload, now=now)
    except CallbackError as exc:
        error = {"field": exc.field, "code": exc.code, "message": exc.message}
        return JsonResponse({"errors": [error]}, status=exc.http_status)
    return JsonResponse({"ok": True, "duplicate": not first})
