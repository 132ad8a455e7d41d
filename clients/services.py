"""Writes for clients and contacts; each one is recorded in the client's ledger."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from accounts.permissions import Capability, require
from clients.models import Client, ClientDomain, Contact
from ledger.actors import Actor, actor_label
from ledger.models import GENESIS_HASH, Head
from ledger.services import event_append

_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")


def clean_domains(domains: Iterable[str]) -> list[str]:
    """Lower-case, de-duplicate and check e-mail domains; raise ValidationError on a bad one."""
    cleaned: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().rstrip(".")
        if not domain:
            continue
        if domain.startswith("@"):
            domain = domain[1:]
        if not domain.isascii():
            # Stored in its IDNA (xn--) form, the form mail verification compares.
            try:
                domain = domain.encode("idna").decode("ascii")
            except UnicodeError:
                raise ValidationError(
                    {"domains": [f"{raw.strip()!r} is not a valid e-mail domain."]}
                ) from None
        if not _DOMAIN.match(domain):
            raise ValidationError({"domains": [f"{raw.strip()!r} is not a valid e-mail domain."]})
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


def _slug_for(name: str) -> str:
    """The name's ASCII slug; a name with no Latin letters (Greek, Cyrillic…) gets a
    stable one made from its hash rather than an empty slug."""
    return slugify(name)[:80] or f"client-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def client_create(
    *,
    name: str,
    actor: Actor,
    now: dt.datetime,
    domains: Iterable[str] = (),
    slug: str = "",
    industry: str = "",
    regulated: bool = False,
    account_owner: User | None = None,
    qbr_cadence_months: int = 3,
    time_zone: str = "Europe/Rome",
    language: str = "en",
) -> Client:
    """Create a client with its domains and the genesis of its ledger chain (admins
    and account managers: a technician would not see a client they created)."""
    require(actor, Capability.MANAGE_CLIENTS)
    domain_list = clean_domains(domains)
    client = Client(
        name=name.strip(),
        slug=slug or _slug_for(name),
        industry=industry,
        regulated=regulated,
        account_owner=account_owner,
        qbr_cadence_months=qbr_cadence_months,
        time_zone=time_zone,
        language=language,
        created_at=now,
    )
    client.full_clean()
    taken = list(
        ClientDomain.objects.filter(domain__in=domain_list).values_list("domain", flat=True)
    )
    if taken:
        raise ValidationError(
            {"domains": [f"{d} already belongs to another client." for d in taken]}
        )
    with transaction.atomic():
        client.save()
        ClientDomain.objects.bulk_create(ClientDomain(client=client, domain=d) for d in domain_list)
        Head.objects.create(client=client, seq=0, hash=GENESIS_HASH)
        event_append(
            client=client,
            kind="client.created",
            actor=actor_label(actor),
            at=now,
            data={
                "name": client.name,
                "domains": domain_list,
                "regulated": client.regulated,
                "account_owner": account_owner.get_username() if account_owner else None,
            },
        )
    return client


def contact_create(
    *,
    client: Client,
    name: str,
    email: str,
    actor: Actor,
    now: dt.datetime,
    is_decision_maker: bool = False,
    is_escalation_contact: bool = False,
    phone: str = "",
    job_title: str = "",
) -> Contact:
    """Add a contact to a client; recorded in the ledger, since contacts decide."""
    require(actor, Capability.WRITE)
    contact = Contact(
        client=client,
        name=name.strip(),
        email=email.strip().lower(),
        phone=phone,
        job_title=job_title,
        is_decision_maker=is_decision_maker,
        is_escalation_contact=is_escalation_contact,
        created_at=now,
    )
    contact.full_clean(validate_constraints=False)
    if Contact.objects.filter(client=client, email__iexact=contact.email).exists():
        raise ValidationError({"email": ["This client already has a contact with that e-mail."]})
    with transaction.atomic():
        contact.save()
        event_append(
            client=client,
            kind="contact.added",
            actor=actor_label(actor),
            at=now,
            data={
                "contact": contact.pk,
                "name": contact.name,
                "email": contact.email,
                "decision_maker": contact.is_decision_maker,
            },
        )
    return contact
