"""Client follow-up policies (contract tiers): the one write, with its ledger event."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.permissions import Capability, require
from catalog.choices import Severity
from clients.models import Client, ClientPolicy
from ledger.actors import Actor, actor_label
from ledger.services import event_append

POLICY_FIELDS = {
    "critical_days": (1, 365),
    "high_days": (1, 365),
    "medium_days": (1, 365),
    "low_days": (1, 365),
    "level2_after_days": (1, 90),
    "level3_after_days": (1, 90),
    "max_deferrals": (1, 20),
    "rejection_review_months": (1, 36),
    "weekly_weekday": (0, 6),
}
WEEKLY_FIELD = "weekly_severities"


def client_policy_set(
    *, client: Client, actor: Actor, now: dt.datetime, tier: str, **fields: Any
) -> ClientPolicy:
    """Create or change a client's follow-up policy (its contract tier), with a
    ledger event. Numbers outside their range raise ValidationError, nothing stored.
    Deadlines already running keep their dates; the policy applies from the next
    presentation, deferral expiry or answer on. ``weekly_severities`` (a list of
    severities, empty for none) are the client's quiet settings: notices about them
    reach its contacts once a week, on ``weekly_weekday`` (0 = Monday)."""
    require(actor, Capability.SET_POLICY)
    errors: dict[str, list[str]] = {}
    if not tier.strip():
        errors["tier"] = ["A policy needs the name of its contract tier."]
    weekly = fields.pop(WEEKLY_FIELD, None)
    if weekly is not None:
        unknown = [str(s) for s in weekly if s not in Severity.values]
        if unknown:
            errors[WEEKLY_FIELD] = [
                f"Unknown severity {unknown[0]!r}: use {', '.join(Severity.values)}."
            ]
        else:
            fields[WEEKLY_FIELD] = ",".join(s for s in Severity.values if s in weekly)
    for name, value in fields.items():
        if name == WEEKLY_FIELD:
            continue
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
