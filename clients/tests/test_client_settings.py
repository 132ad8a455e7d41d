"""Changing a client, its assigned staff and its contacts: one ledger event per change,
per-field refusals that store nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from clients.models import Client, ClientDomain, Contact
from clients.services import (
    Msg,
    client_staff_assign,
    client_staff_unassign,
    client_update,
    contact_deactivate,
    contact_update,
)
from ledger.models import Event, Head

pytestmark = pytest.mark.django_db


def _events(client, kind):
    return list(Event.objects.filter(client=client, kind=kind).order_by("seq"))


def test_a_manager_changes_settings_and_domains_in_one_event(manager, client_a, now):
    client_update(
        client=client_a,
        name="Acme Dental Società",
        language="it",
        time_zone="Europe/Zurich",
        industry="Dental practice",
        domains=["acme-dental.example", "ACME-Dentale.example."],
        actor=manager,
        now=now,
    )

    client = Client.objects.get(pk=client_a.pk)
    assert (client.name, client.language, client.time_zone) == (
        "Acme Dental Società",
        "it",
        "Europe/Zurich",
    )
    assert client.slug == "acme-dental"
    assert sorted(client.domains.values_list("domain", flat=True)) == [
        "acme-dental.example",
        "acme-dentale.example",
    ]
    (event,) = _events(client, "client.updated")
    assert event.actor == "staff:marco"
    assert event.data["changes"] == {
        "name": {"old": "Acme Dental", "new": "Acme Dental Società"},
        "language": {"old": "en", "new": "it"},
        "time_zone": {"old": "Europe/Rome", "new": "Europe/Zurich"},
        "domains": {
            "old": ["acme-dental.example"],
            "new": ["acme-dental.example", "acme-dentale.example"],
        },
    }


def test_saving_unchanged_settings_records_nothing(admin, client_a, now):
    client_update(
        client=client_a, name="Acme Dental", domains=["acme-dental.example"], actor=admin, now=now
    )

    assert _events(client_a, "client.updated") == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"time_zone": "Europe/Roma"}, "time_zone"),
        ({"name": "Bravo Legal"}, "name"),
        ({"domains": ["acme-dental.example", "bravo-legal.example"]}, "domains"),
        ({"domains": ["not a domain"]}, "domains"),
        ({"language": "de"}, "language"),
        ({"slug": "other"}, "slug"),
    ],
    ids=["time-zone", "name-taken", "domain-of-another-client", "bad-domain", "language", "slug"],
)
def test_a_refused_change_stores_nothing(admin, client_a, client_b, now, changes, field):
    head = Head.objects.get(client=client_a)
    with pytest.raises(ValidationError) as refused:
        client_update(client=client_a, actor=admin, now=now, **{"name": "Acme Dental 2", **changes})

    assert field in refused.value.message_dict
    client = Client.objects.get(pk=client_a.pk)
    assert (client.name, client.time_zone, client.language) == ("Acme Dental", "Europe/Rome", "en")
    assert list(ClientDomain.objects.filter(client=client).values_list("domain", flat=True)) == [
        "acme-dental.example"
    ]
    assert (Head.objects.get(client=client_a).seq, Head.objects.get(client=client_a).hash) == (
        head.seq,
        head.hash,
    )


def test_assigning_and_unassigning_a_technician_is_in_the_ledger(manager, client_b, now):
    from accounts.models import User

    tess = User.objects.create_user(username="tess2", role="technician")

    client_staff_assign(client=client_b, user=tess, actor=manager, now=now)
    assert list(client_b.staff.all()) == [tess]
    with pytest.raises(ValidationError, match="already assigned"):
        client_staff_assign(client=client_b, user=tess, actor=manager, now=now)
    client_staff_unassign(client=client_b, user=tess, actor=manager, now=now)

    assert list(client_b.staff.all()) == []
    assert [e.kind for e in Event.objects.filter(client=client_b).order_by("seq")][-2:] == [
        "client.staff_assigned",
        "client.staff_unassigned",
    ]
    assert _events(client_b, "client.staff_assigned")[0].data == {
        "user": "tess2",
        "role": "technician",
    }
    with pytest.raises(ValidationError, match="not assigned"):
        client_staff_unassign(client=client_b, user=tess, actor=manager, now=now)


def test_an_auditor_or_a_disabled_account_cannot_be_assigned(admin, auditor, client_a, now):
    from accounts.models import User

    gone = User.objects.create_user(username="gone", role="technician", is_active=False)
    for person in (auditor, gone):
        with pytest.raises(ValidationError) as refused:
            client_staff_assign(client=client_a, user=person, actor=admin, now=now)
        assert refused.value.message_dict == {"user": [Msg.NOT_ASSIGNABLE]}
    assert _events(client_a, "client.staff_assigned") == []


def test_a_contact_edit_records_old_and_new_values(technician, contact_a, now):
    contact_update(
        contact=contact_a,
        name="Alice Rossi",
        email="Alice.Rossi@Acme-Dental.example",
        is_decision_maker=False,
        language="it",
        actor=technician,
        now=now,
    )

    contact = Contact.objects.get(pk=contact_a.pk)
    assert (contact.email, contact.is_decision_maker, contact.language) == (
        "alice.rossi@acme-dental.example",
        False,
        "it",
    )
    assert contact.effective_language == "it"
    (event,) = _events(contact.client, "contact.updated")
    assert event.data["changes"]["is_decision_maker"] == {"old": True, "new": False}
    assert set(event.data["changes"]) == {"email", "is_decision_maker", "language"}


def test_a_contact_cannot_take_the_email_of_another_contact(admin, client_a, contact_a, now):
    from clients.services import contact_create

    carla = contact_create(
        client=client_a, name="Carla Verdi", email="carla@acme-dental.example", actor=admin, now=now
    )
    with pytest.raises(ValidationError) as refused:
        contact_update(contact=carla, email=contact_a.email.upper(), actor=admin, now=now)

    assert refused.value.message_dict == {"email": [Msg.EMAIL_TAKEN]}
    assert Contact.objects.get(pk=carla.pk).email == "carla@acme-dental.example"
    assert _events(client_a, "contact.updated") == []


def test_a_contact_is_deactivated_once(admin, contact_a, now):
    contact_deactivate(contact=contact_a, actor=admin, now=now)
    contact_deactivate(contact=contact_a, actor=admin, now=now)

    assert not Contact.objects.get(pk=contact_a.pk).is_active
    assert len(_events(contact_a.client, "contact.deactivated")) == 1
