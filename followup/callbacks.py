"""PSA status callbacks: the PSA tells Heeded that a mirrored ticket changed.

The request is authenticated like an outbound webhook, with the Standard Webhooks
headers signed by ``HEEDED_PSA_CALLBACK_SECRET``, and must be fresh (5 minutes).
Each ``webhook-id`` is acted on once: a repeated delivery answers 200 and changes
nothing. The body names the ticket by the ExternalID Heeded gave its twin:

    {"external_id": "heeded-ticket-12", "status": "complete", "note": "Done on site."}

This module is the view: it authenticates the request and parses the body; the write
is ``followup.services.callbacks.psa_callback_record``.
"""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from followup.services.callbacks import CallbackError, psa_callback_record
from followup.services.callbacks import Msg as RecordMsg
from followup.webhooks import verify

TOLERANCE = dt.timedelta(minutes=5)


class Msg:
    HEADERS = "The webhook-id, webhook-timestamp and webhook-signature headers are required."
    STALE = "The webhook-timestamp is more than 5 minutes away from now."
    SIGNATURE = "The signature does not match."
    BODY = RecordMsg.BODY


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
