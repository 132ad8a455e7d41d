"""Outbound webhooks: signing (Standard Webhooks) and the outbox worker's delivery handler.

The writes (registering and disabling endpoints, queuing an event for them) are in
``followup.services.webhooks``: ``webhook_publish(event)`` runs in the transaction that
appended a ledger event (a lifecycle change, a follow-up step) and queues one outbox
row per interested endpoint; the worker delivers it here with retries and backoff. The
body is fixed at queueing time, so every retry sends the same bytes under the same
``webhook-id`` (receivers deduplicate on it); only ``webhook-timestamp`` and the
signature, which covers it, are made at each attempt, as the spec asks.

Signature (https://www.standardwebhooks.com/): ``v1,`` + base64(HMAC-SHA256(key,
"{webhook-id}.{webhook-timestamp}.{body}")) where key is the base64 part of a
``whsec_`` secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

from followup.choices import OutboxKind
from followup.delivery import DeliveryError, PermanentDeliveryError, handles
from followup.models import OutboxMessage, WebhookEndpoint, WebhookKind
from lib import crypto

TIMEOUT_SECONDS = 10
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


class Msg:
    URL_INVALID = "Enter a valid http(s) URL."
    SECRET_INVALID = "A signing secret is 'whsec_' followed by base64 (24+ bytes)."  # noqa: S105
    ENDPOINT_GONE = "The webhook endpoint {pk} was deleted or disabled."
    NO_ENDPOINT = "No webhook endpoint {pk}."
    REFUSED = "The receiver answered HTTP {status}."
    SECRET_UNREADABLE = (
        "The signing secret of webhook endpoint {pk} was sealed with a key that is no "  # noqa: S105
        "longer in HEEDED_ENCRYPTION_KEYS; add the key back, or register the endpoint again."
    )


# --- signing ---------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret; ValueError (``Msg.SECRET_INVALID``) if it is
    not one."""
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
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def verify(*, secret: str, msg_id: str, timestamp: int, body: str, header: str) -> bool:
    """True when one of the space-separated v1 signatures in ``header`` matches."""
    expected = sign(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
    return any(hmac.compare_digest(expected, candidate) for candidate in header.split(" "))


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
        try:
            secret = endpoint.signing_secret()
        except crypto.InvalidToken:
            raise PermanentDeliveryError(Msg.SECRET_UNREADABLE.format(pk=endpoint.pk)) from None
        timestamp = int(clock())
        headers.update(
            {
                "webhook-id": payload["webhook_id"],
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(
                    secret=secret,
                    msg_id=payload["webhook_id"],
                    timestamp=timestamp,
                    body=body,
                ),
            }
        )
    _post(endpoint.url, body.encode("utf-8"), headers)
