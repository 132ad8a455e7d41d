"""Webhook writes: register and disable endpoints, queue a ledger event for them.

``webhook_publish`` queues one outbox row per interested endpoint in the transaction of
its event; the worker delivers it (``followup.webhooks.deliver_webhook``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from accounts.permissions import Capability, require
from followup.choices import OutboxKind
from followup.models import OutboxMessage, WebhookEndpoint, WebhookKind
from followup.selectors import active_endpoints
from followup.services.outbox import outbox_enqueue
from followup.webhooks import Msg, new_secret, secret_key
from ledger.actors import Actor
from ledger.models import Event
from lib import crypto
from lib.canonical import canonical_json, sha256_hex

# Chat alerts: the events worth interrupting someone for, critical items only.
CHAT_EVENTS = {"recommendation.present", "followup.step", "recommendation.mark_ignored"}


def webhook_endpoint_create(
    *,
    name: str,
    url: str,
    kind: str,
    now: dt.datetime,
    secret: str = "",
    event_types: list[str] | None = None,
    actor: Actor,
) -> WebhookEndpoint:
    """Register an endpoint; a standard one gets a fresh secret unless given one.

    Admins only: an endpoint receives every client's events. ``actor`` is always
    named (no default, so a page cannot forget it): the signed-in user, or ``"cli"``
    for the operator at the command line."""
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
            secret_key(secret)
        except ValueError:
            errors["secret"] = [Msg.SECRET_INVALID]
    if errors:
        raise ValidationError(errors)
    return WebhookEndpoint.objects.create(
        name=name.strip() or url,
        url=url,
        kind=kind,
        secret=_seal(secret) if kind == WebhookKind.STANDARD else "",
        event_types=sorted(set(event_types or [])),
        created_at=now,
    )


def _seal(secret: str) -> str:
    return crypto.encrypt(secret.encode("ascii")).decode("ascii")


def webhook_secrets_rotate() -> int:
    """Re-seal every webhook signing secret with the newest key (``heeded keys
    rotate``); returns how many. Raises ``crypto.InvalidToken`` (and stops) at one
    sealed with a key no longer configured."""

    def reseal(sealed: str) -> str:
        return crypto.rotate(sealed.encode("ascii")).decode("ascii")

    return crypto.reseal_rows(WebhookEndpoint.objects.exclude(secret=""), "secret", reseal)


def webhook_endpoint_disable(*, pk: int, actor: Actor) -> WebhookEndpoint:
    """Stop sending to an endpoint; messages already queued for it fail at delivery
    (``Msg.ENDPOINT_GONE``). Disabling a disabled endpoint changes nothing. Admins
    only, like creating one; ``actor`` as for creating one."""
    require(actor, Capability.MANAGE_WEBHOOKS)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=pk).first()
        if endpoint is None:
            raise ValidationError({"id": [Msg.NO_ENDPOINT.format(pk=pk)]})
        if endpoint.is_active:
            endpoint.is_active = False
            endpoint.save(update_fields=["is_active"])
    return endpoint


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


def webhook_publish(
    event: Event,
    *,
    severity: str = "",
    title: str = "",
    endpoints: list[WebhookEndpoint] | None = None,
) -> list[OutboxMessage]:
    """Queue ``event`` for every active endpoint that wants it, in the caller's
    transaction (the event and its deliveries commit or roll back together).
    ``endpoints``: the active endpoints, when the caller publishes many events and
    has read them once (``active_endpoints``)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("webhook_publish must run inside the transaction of its event")
    if endpoints is None:
        endpoints = active_endpoints()
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
