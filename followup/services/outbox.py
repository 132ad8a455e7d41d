"""The outbox: queue a message in the caller's transaction (the worker in
``followup.delivery`` claims and delivers it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction

from clients.models import Client
from followup.choices import OutboxKind, OutboxStatus
from followup.models import OutboxMessage
from lib.canonical import sha256_hex


def message_id_for(key: str) -> str:
    """A stable RFC 5322 Message-ID for an idempotency key: retries reuse it."""
    return f"<{sha256_hex(key.encode('utf-8'))[:40]}@{settings.HEEDED_MESSAGE_ID_DOMAIN}>"


def outbox_enqueue(
    *,
    kind: str,
    key: str,
    payload: dict[str, Any],
    now: dt.datetime,
    client: Client | None = None,
    recommendation_id: int | None = None,
) -> OutboxMessage:
    """Queue one message in the caller's transaction. Queuing the same key twice
    returns the first row: the key names the step, not the attempt."""
    with transaction.atomic():
        message, _ = OutboxMessage.objects.get_or_create(
            idempotency_key=key,
            defaults={
                "kind": OutboxKind(kind),
                "payload": payload,
                "client": client,
                "recommendation_id": recommendation_id,
                "status": OutboxStatus.PENDING,
                "next_attempt_at": now,
                "created_at": now,
            },
        )
    return message


def outbox_enqueue_email(
    *,
    key: str,
    to: list[str],
    subject: str,
    text: str,
    now: dt.datetime,
    html: str = "",
    reply_to: list[str] | None = None,
    headers: dict[str, str] | None = None,
    client: Client | None = None,
    recommendation_id: int | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> OutboxMessage:
    """Queue an e-mail. Its Message-ID is fixed now, so every retry carries the same one.
    ``attachments`` are references (``{"source": name, "id": …}``) that the worker
    resolves when it sends (``followup.delivery.attachment_source``): the outbox holds
    no file bytes."""
    payload: dict[str, Any] = {
        "to": list(to),
        "subject": subject,
        "text": text,
        "html": html,
        "reply_to": list(reply_to or []),
        "headers": dict(headers or {}),
        "message_id": message_id_for(key),
    }
    if attachments:
        payload["attachments"] = [dict(a) for a in attachments]
    return outbox_enqueue(
        kind=OutboxKind.EMAIL,
        key=key,
        payload=payload,
        now=now,
        client=client,
        recommendation_id=recommendation_id,
    )
