"""Writes of the follow-up engine: the outbox (delivery lives in ``followup.delivery``) and
client policies. Tickets are written by ``followup.tickets``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.permissions import Capability, require
from clients.models import Client, ClientPolicy
from followup.choices import OutboxKind, OutboxStatus
from followup.models import OutboxMessage
from ledger.actors import Actor, actor_label
from ledger.services import event_append
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
) -> OutboxMessage:
    """Queue an e-mail. Its Message-ID is fixed now, so every retry carries the same one."""
    payload = {
        "to": list(to),
        "subject": subject,
        "text": text,
        "html": html,
        "reply_to": list(reply_to or []),
        "headers": dict(headers or {}),
        "message_id": message_id_for(key),
    }
    return outbox_enqueue(
        kind=OutboxKind.EMAIL,
        key=key,
        payload=payload,
        now=now,
        client=client,
        recommendation_id=recommendation_id,
    )


# --- policies ---------------------------------------------------------------------------

POLICY_FIELDS = {
    "critical_days": (1, 365),
    "high_days": (1, 365),
    "medium_days": (1, 365),
    "low_days": (1, 365),
    "level2_after_days": (1, 90),
    "level3_after_days": (1, 90),
    "max_deferrals": (1, 20),
    "rejection_review_months": (1, 36),
}


def client_policy_set(
    *, client: Client, actor: Actor, now: dt.datetime, tier: str, **fields: Any
) -> ClientPolicy:
    """Create or change a client's follow-up policy (its contract tier), with a
    ledger event. Numbers outside their range raise ValidationError, nothing stored.
    Deadlines already running keep their dates; the policy applies from the next
    presentation, deferral expiry or answer on."""
    require(actor, Capability.SET_POLICY)
    errors: dict[str, list[str]] = {}
    if not tier.strip():
        errors["tier"] = ["A policy needs the name of its contract tier."]
    for name, value in fields.items():
        if name in POLICY_FIELDS and value is not None:
            low, high = POLICY_FIELDS[name]
            if not isinstance(value, int) or not low <= value <= high:
                errors[name] = [f"Must be a whole number from {low} to {high}."]
        elif name not in POLICY_FIELDS and name not in (
            "business_days",
            "reminders",
            "review_at_next_qbr",
        ):
            errors[name] = ["Unknown policy field."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        policy, _ = ClientPolicy.objects.get_or_create(client=client, defaults={"tier": tier})
        policy.tier = tier.strip()
        for name, value in fields.items():
            if value is not None:
                setattr(policy, name, value)
        policy.save()
        event_append(
            client=client,
            kind="followup.policy",
            actor=actor_label(actor),
            at=now,
            data={"tier": policy.tier, **{k: v for k, v in fields.items() if v is not None}},
        )
    return policy
