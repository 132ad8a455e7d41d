"""Outbound webhooks: signed JSON events (Standard Webhooks) and chat alerts.

``webhook_publish(event)`` runs in the transaction that appended a ledger event (a
lifecycle change, a follow-up step) and queues one outbox row per interested
endpoint; the outbox worker delivers it with retries and backoff. The body is fixed
at queueing time, so every retry sends the same bytes under the same ``webhook-id``
(receivers deduplicate on it); only ``webhook-timestamp`` and the signature, which
covers it, are made at each attempt, as the spec asks.

Signature (https://www.standardwebhooks.com/): ``v1,`` + base64(HMAC-SHA256(key,
"{webhook-id}.{webhook-timestamp}.{body}")) where key is the base64 part of a
``whsec_`` secret.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from accounts.permissions import Capability, require
from followup.choices import OutboxKind
from followup.delivery import DeliveryError, PermanentDeliveryError, handles
from followup.models import OutboxMessage, WebhookEndpoint, WebhookKind
from followup.services import outbox_enqueue
from ledger.actors import Actor
from ledger.models import Event
from lib.canonical import canonical_json, sha256_hex

TIMEOUT_SECONDS = 10
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
# Chat alerts: the events worth interrupting someone for, critical items only.
CHAT_EVENTS = {"recommendation.present", "followup.step", "recommendation.mark_ignored"}


class Msg:
    URL_INVALID = "Enter a valid http(s) URL."
    SECRET_INVALID = "A signing secret is 'whsec_' followed by base64 (24+ bytes)."  # noqa: S105
    ENDPOINT_GONE = "The webhook endpoint {pk} was deleted or disabled."
    REFUSED = "The receiver answered HTTP {status}."


# --- signing ---------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ValueError(Msg.SECRET_INVALID) from None
    if len(key) < 24:
        raise ValueError(Msg.SECRET_INVALID)
    return key


def sign(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value for one attempt."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def verify(*, secret: str, msg_id: str, timestamp: int, body: str, header: str) -> bool:
    """True when one of the space-separated v1 signatures in ``header`` matches."""
    expected = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split(" "))


# --- endpoints -------------------------------------------------------------------------


def webhook_endpoint_create(
    *,
    name: str,
    url: str,
    kind: str,
    now: dt.datetime,
    secret: str = "",
    event_types: list[str] | None = None,
    actor: Actor = None,
) -> WebhookEndpoint:
    """Register an endpoint; a standard one gets a fresh secret unless given one.

    Admins only: an endpoint receives every client's events. ``actor=None`` is the
    operator at the command line."""
    require(actor, Capability.MANAGE_WEBHOOKS)
    errors: dict[str, list[str]] = {}
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        errors["url"] = [Msg.URL_INVALID]
    if kind not in WebhookKind.values:
        errors["kind"] = [f"Unknown kind {kind!r}; use one of: {', '.join(WebhookKind.values)}."]
    if kind == WebhookKind.STANDARD:
        secret = secret or new_secret()
        try:
            _key(secret)
        except ValueError:
            errors["secret"] = [Msg.SECRET_INVALID]
    if errors:
        raise ValidationError(errors)
    return WebhookEndpoint.objects.create(
        name=name.strip() or url,
        url=url,
        kind=kind,
        secret=secret if kind == WebhookKind.STANDARD else "",
        event_types=sorted(set(event_types or [])),
        created_at=now,
    )


# --- publishing --------------------------------------------------------------------------


def _wanted(endpoint: WebhookEndpoint, event: Event, severity: str) -> bool:
    if endpoint.kind == WebhookKind.STANDARD:
        return not endpoint.event_types or event.kind in endpoint.event_types
    return severity == "critical" and event.kind in CHAT_EVENTS


def _chat_text(event: Event, title: str, client_name: str) -> str:
    data = event.data
    if event.kind == "followup.step":
        what = data.get("step", "follow-up step").replace("-", " ")
    elif event.kind == "recommendation.mark_ignored":
        what = "marked ignored after the escalation ladder"
    else:
        what = "presented, awaiting the client's decision"
    return f"[Heeded] CRITICAL · {client_name}: {title} ({what})"


def webhook_publish(event: Event, *, severity: str = "", title: str = "") -> list[OutboxMessage]:
    """Queue ``event`` for every active endpoint that wants it, in the caller's
    transaction (the event and its deliveries commit or roll back together)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("webhook_publish must run inside the transaction of its event")
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    queued = []
    for endpoint in endpoints:
        if not _wanted(endpoint, event, severity):
            continue
        client = event.client
        if endpoint.kind == WebhookKind.STANDARD:
            body: dict[str, Any] = {
                "type": event.kind,
                "timestamp": event.at.astimezone(dt.UTC).isoformat(),
                "data": {
                    "client": {"id": client.pk, "uuid": str(client.uuid), "name": client.name},
                    "recommendation": event.recommendation_id,
                    "ledger": {"seq": event.seq, "hash": event.hash},
                    **event.data,
                },
            }
        else:
            # Slack and Teams incoming webhooks both take a plain {"text": ...} body.
            body = {"text": _chat_text(event, title, client.name)}
        key = f"webhook:{endpoint.pk}:{client.uuid}:{event.seq}"
        payload = {
            "endpoint": endpoint.pk,
            "webhook_id": "msg_" + sha256_hex(key.encode())[:32],
            "body": canonical_json(body).decode("utf-8"),
            "subject": f"{endpoint.name}: {event.kind}",
        }
        queued.append(
            outbox_enqueue(
                kind=OutboxKind.WEBHOOK,
                key=key,
                payload=payload,
                now=event.at,
                client=client,
                recommendation_id=event.recommendation_id,
            )
        )
    return queued


# --- delivery ---------------------------------------------------------------------------


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    if not url.startswith(("http://", "https://")):
        raise PermanentDeliveryError(Msg.URL_INVALID)
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            answer.read(1024)
    except urllib.error.HTTPError as exc:
        message = Msg.REFUSED.format(status=exc.code)
        # A receiver that says the request itself is wrong will say so again.
        if 400 <= exc.code < 500 and exc.code not in (408, 409, 425, 429):
            raise PermanentDeliveryError(message) from None
        raise DeliveryError(message) from None


@handles(OutboxKind.WEBHOOK)
def deliver_webhook(message: OutboxMessage, *, clock: Any = time.time) -> None:
    payload = message.payload
    endpoint = WebhookEndpoint.objects.filter(pk=payload.get("endpoint"), is_active=True).first()
    if endpoint is None:
        raise PermanentDeliveryError(Msg.ENDPOINT_GONE.format(pk=payload.get("endpoint")))
    body = payload["body"]
    headers = {"Content-Type": "application/json", "User-Agent": "Heeded-Webhooks/1"}
    if endpoint.kind == WebhookKind.STANDARD:
        timestamp = int(clock())
        headers.update(
            {
                "webhook-id": payload["webhook_id"],
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(
                    secret=endpoint.secret,
                    msg_id=payload["webhook_id"],
                    timestamp=timestamp,
                    body=body,
                ),
            }
        )
    _post(endpoint.url, body.encode("utf-8"), headers)
