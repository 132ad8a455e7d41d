"""Who at a client may decide: the authority rules (which contact may decide which
severity) and the client's dual approval of critical rejections. Every channel asks
``contact_may_decide`` before it records a decision; staff edit the rules here."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.permissions import Capability, require
from answers.errors import AnswerRefused
from answers.models import AnswerPolicy, AuthorityRule
from catalog.choices import Severity
from clients.models import Client, Contact
from ledger.actors import actor_label
from ledger.services import event_append
from recommendations.choices import Decision
from recommendations.lifecycle import Msg as LifecycleMsg
from recommendations.models import Recommendation

DUAL_APPROVAL_REASON = gettext_noop("first of two approvals needed to reject a critical item")
NO_AUTHORITY_REASON = gettext_noop("the contact may not decide this severity")


def contact_may_decide(contact: Contact, severity: str) -> bool:
    """True when the contact is active and, if the client has authority rules, a rule
    grants it this severity; without rules every decision maker may decide."""
    if not contact.is_active:
        return False
    rules = {r.contact_id: r for r in AuthorityRule.objects.filter(client_id=contact.client_id)}
    if rules:
        rule = rules.get(contact.pk)
        return rule is not None and rule.allows(severity)
    return contact.is_decision_maker


def authorised_contacts(client: Client, severity: str) -> list[Contact]:
    """The active contacts of ``client`` who may decide ``severity``."""
    contacts = Contact.objects.filter(client=client, is_active=True).order_by("name", "pk")
    return [c for c in contacts if contact_may_decide(c, severity)]


def authority_set(
    *, client: Client, contact: Contact, severities: list[str], actor: User, now: dt.datetime
) -> AuthorityRule:
    """Say which severities ``contact`` may decide (an empty list: none)."""
    require(actor, Capability.WRITE)
    if contact.client_id != client.pk:
        raise AnswerRefused(LifecycleMsg.RESPONDER_OTHER_CLIENT, field="contact")
    unknown = sorted(set(severities) - set(Severity.values))
    if unknown:
        raise AnswerRefused(f"Unknown severity {unknown[0]!r}.", field="severities")
    with transaction.atomic():
        rule, _ = AuthorityRule.objects.update_or_create(
            contact=contact, defaults={"client": client, "severities": sorted(set(severities))}
        )
        event_append(
            client=client,
            kind="answers.authority_set",
            actor=actor_label(actor),
            at=now,
            data={"contact": contact.email, "severities": rule.severities},
        )
    return rule


def authority_replace(
    *,
    client: Client,
    rules: dict[int, list[str]] | None,
    dual_approval_reject_critical: bool,
    actor: User,
    now: dt.datetime,
) -> None:
    """Replace the client's whole authority table: ``rules`` maps contact ids to the
    severities they may decide (None: no rules, every decision maker decides)."""
    require(actor, Capability.WRITE)
    contacts = {c.pk: c for c in Contact.objects.filter(client=client)}
    for contact_id, severities in (rules or {}).items():
        if contact_id not in contacts:
            raise AnswerRefused(LifecycleMsg.RESPONDER_OTHER_CLIENT, field="contact")
        unknown = sorted(set(severities) - set(Severity.values))
        if unknown:
            raise AnswerRefused(f"Unknown severity {unknown[0]!r}.", field="severities")
    with transaction.atomic():
        AuthorityRule.objects.filter(client=client).delete()
        table = {}
        for contact_id, severities in sorted((rules or {}).items()):
            chosen = sorted(set(severities))
            AuthorityRule.objects.create(client=client, contact_id=contact_id, severities=chosen)
            table[contacts[contact_id].email] = chosen
        AnswerPolicy.objects.update_or_create(
            client=client,
            defaults={"dual_approval_reject_critical": dual_approval_reject_critical},
        )
        event_append(
            client=client,
            kind="answers.authority_set",
            actor=actor_label(actor),
            at=now,
            data={
                "rules": table if rules is not None else None,
                "dual_approval_reject_critical": dual_approval_reject_critical,
            },
        )


def needs_dual_approval(rec: Recommendation, decision: str) -> bool:
    """True when the client's policy wants two contacts to reject this critical item."""
    if rec.severity != Severity.CRITICAL or decision != Decision.REJECTED:
        return False
    policy = AnswerPolicy.objects.filter(client_id=rec.client_id).first()
    return policy is not None and policy.dual_approval_reject_critical


def authority_limited(rec: Recommendation, decision: str) -> bool:
    """True when who decides matters: the client has authority rules, or this is the
    rejection of a critical item under dual approval."""
    return AuthorityRule.objects.filter(client_id=rec.client_id).exists() or needs_dual_approval(
        rec, decision
    )
