"""Writes for clients, their assigned staff and contacts; each one is recorded in the
client's ledger."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.permissions import WRITERS, Capability, require
from clients.choices import Language
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
    psa_company_id: int | None = None,
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
        psa_company_id=psa_company_id,
        created_at=now,
    )
    client.full_clean()
    taken = list(
        ClientDomain.objects.filter(domain__in=domain_list).values_list("domain", flat=True)
    )
    if taken:
        raise ValidationError({"domains": [_(Msg.DOMAIN_TAKEN).format(domain=d) for d in taken]})
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
                # Only when set, so the events of clients made before it stay as they were.
                **({"psa_company_id": psa_company_id} if psa_company_id else {}),
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
    language: str = "",
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
        language=language,
        created_at=now,
    )
    contact.full_clean(validate_constraints=False)
    if Contact.objects.filter(client=client, email__iexact=contact.email).exists():
        raise ValidationError({"email": [_(Msg.EMAIL_TAKEN)]})
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


class Msg:
    """Stable messages; tests and pages rely on their wording."""

    DOMAIN_TAKEN = gettext_noop("{domain} already belongs to another client.")
    EMAIL_TAKEN = gettext_noop("This client already has a contact with that e-mail.")
    NOT_ASSIGNABLE = gettext_noop(
        "Only an active admin, account manager or technician can be assigned."
    )
    ALREADY_ASSIGNED = gettext_noop("{user} is already assigned to this client.")
    NOT_ASSIGNED = gettext_noop("{user} is not assigned to this client.")


# What client_update may change, and how each field is recorded in its event.
CLIENT_FIELDS = (
    "name",
    "industry",
    "regulated",
    "account_owner",
    "qbr_cadence_months",
    "time_zone",
    "language",
    "psa_company_id",
)


def _recorded(value: object) -> object:
    return value.get_username() if isinstance(value, User) else value


def client_update(
    *,
    client: Client,
    actor: Actor,
    now: dt.datetime,
    domains: Iterable[str] | None = None,
    **fields: object,
) -> Client:
    """Change a client's settings (any of ``CLIENT_FIELDS``) and, when ``domains`` is
    given, replace its e-mail domains; one ledger event ``client.updated`` with the old
    and new value of what changed. Admins and account managers only. A bad value, a
    domain of another client or an unknown field raises ValidationError on that field;
    nothing is stored. Changing nothing records nothing."""
    require(actor, Capability.CHANGE_CLIENTS)
    unknown = sorted(set(fields) - set(CLIENT_FIELDS))
    if unknown:
        raise ValidationError({name: ["Unknown client field."] for name in unknown})
    domain_list = None if domains is None else clean_domains(domains)
    with transaction.atomic():
        current = Client.objects.select_for_update().get(pk=client.pk)
        changes: dict[str, dict[str, object]] = {}
        for name, value in fields.items():
            if isinstance(value, str) and name != "language":
                value = value.strip()
            old = getattr(current, name)
            if old != value:
                changes[name] = {"old": _recorded(old), "new": _recorded(value)}
                setattr(current, name, value)
        if changes:
            # The slug stays: links and exports already name the client by it.
            current.full_clean(exclude=["slug"])
        if domain_list is not None:
            taken = list(
                ClientDomain.objects.filter(domain__in=domain_list)
                .exclude(client=current)
                .values_list("domain", flat=True)
            )
            if taken:
                raise ValidationError(
                    {"domains": [_(Msg.DOMAIN_TAKEN).format(domain=d) for d in taken]}
                )
            old_domains = sorted(current.domains.values_list("domain", flat=True))
            if old_domains != sorted(domain_list):
                changes["domains"] = {"old": old_domains, "new": sorted(domain_list)}
                current.domains.exclude(domain__in=domain_list).delete()
                ClientDomain.objects.bulk_create(
                    ClientDomain(client=current, domain=d)
                    for d in domain_list
                    if d not in old_domains
                )
        if changes:
            current.save()
            event_append(
                client=current,
                kind="client.updated",
                actor=actor_label(actor),
                at=now,
                data={"changes": changes},
            )
    for name in fields:
        setattr(client, name, getattr(current, name))
    return client


def _assignable(user: User) -> bool:
    return user.is_active and (user.is_superuser or user.role in WRITERS)


def client_staff_assign(*, client: Client, user: User, actor: Actor, now: dt.datetime) -> Client:
    """Assign a staff member to a client (a technician then sees it), with the ledger
    event ``client.staff_assigned``. Admins and account managers only; an auditor (who
    sees every client anyway) or a disabled account is refused on ``user``, and so is
    someone already assigned."""
    require(actor, Capability.CHANGE_CLIENTS)
    if not _assignable(user):
        raise ValidationError({"user": [_(Msg.NOT_ASSIGNABLE)]})
    with transaction.atomic():
        Client.objects.select_for_update().get(pk=client.pk)
        if client.staff.filter(pk=user.pk).exists():
            raise ValidationError({"user": [_(Msg.ALREADY_ASSIGNED).format(user=user)]})
        client.staff.add(user)
        event_append(
            client=client,
            kind="client.staff_assigned",
            actor=actor_label(actor),
            at=now,
            data={"user": user.get_username(), "role": user.role},
        )
    return client


def client_staff_unassign(*, client: Client, user: User, actor: Actor, now: dt.datetime) -> Client:
    """Take a staff member off a client (a technician no longer sees it), with the
    ledger event ``client.staff_unassigned``. Admins and account managers only."""
    require(actor, Capability.CHANGE_CLIENTS)
    with transaction.atomic():
        Client.objects.select_for_update().get(pk=client.pk)
        if not client.staff.filter(pk=user.pk).exists():
            raise ValidationError({"user": [_(Msg.NOT_ASSIGNED).format(user=user)]})
        client.staff.remove(user)
        event_append(
            client=client,
            kind="client.staff_unassigned",
            actor=actor_label(actor),
            at=now,
            data={"user": user.get_username(), "role": user.role},
        )
    return client


CONTACT_FIELDS = (
    "name",
    "email",
    "phone",
    "job_title",
    "is_decision_maker",
    "is_escalation_contact",
    "language",
)


def contact_update(
    *, contact: Contact, actor: Actor, now: dt.datetime, **fields: object
) -> Contact:
    """Change a contact (any of ``CONTACT_FIELDS``), with the ledger event
    ``contact.updated`` holding the old and new value of what changed: who may decide
    is evidence. A bad value or an e-mail another contact of the client has raises
    ValidationError on that field; nothing is stored. Changing nothing records nothing."""
    require(actor, Capability.WRITE)
    unknown = sorted(set(fields) - set(CONTACT_FIELDS))
    if unknown:
        raise ValidationError({name: ["Unknown contact field."] for name in unknown})
    if isinstance(fields.get("email"), str):
        fields["email"] = str(fields["email"]).strip().lower()
    if isinstance(fields.get("name"), str):
        fields["name"] = str(fields["name"]).strip()
    if fields.get("language") not in (None, "", *Language.values):
        raise ValidationError({"language": ["Unknown language."]})
    with transaction.atomic():
        current = Contact.objects.select_for_update().get(pk=contact.pk)
        changes: dict[str, dict[str, object]] = {}
        for name, value in fields.items():
            old = getattr(current, name)
            if old != value:
                changes[name] = {"old": old, "new": value}
                setattr(current, name, value)
        if not changes:
            return contact
        current.full_clean(validate_constraints=False)
        if (
            "email" in changes
            and Contact.objects.filter(client_id=current.client_id, email__iexact=current.email)
            .exclude(pk=current.pk)
            .exists()
        ):
            raise ValidationError({"email": [_(Msg.EMAIL_TAKEN)]})
        current.save()
        event_append(
            client=current.client,
            kind="contact.updated",
            actor=actor_label(actor),
            at=now,
            data={"contact": current.pk, "changes": changes},
        )
    for name in fields:
        setattr(contact, name, getattr(current, name))
    return contact


def contact_deactivate(*, contact: Contact, actor: Actor, now: dt.datetime) -> Contact:
    """Mark a contact inactive (they left the client): they can no longer decide;
    their past answers stay. Ledger event ``contact.deactivated``;
    an inactive contact changes nothing and records nothing."""
    require(actor, Capability.WRITE)
    with transaction.atomic():
        if Contact.objects.filter(pk=contact.pk, is_active=True).update(is_active=False):
            event_append(
                client=contact.client,
                kind="contact.deactivated",
                actor=actor_label(actor),
                at=now,
                data={"contact": contact.pk, "name": contact.name, "email": contact.email},
            )
    contact.is_active = False
    return contact
