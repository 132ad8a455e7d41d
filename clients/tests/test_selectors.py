"""clients.selectors: who sees which clients and contacts.

Admins, account managers and auditors see every client; a technician sees the
clients they are assigned to; anyone else sees nothing. What a user may not see is a
404, exactly like what does not exist.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from accounts.choices import Role
from clients.selectors import client_get_for, client_list_for, contact_get_for, contact_list_for
from clients.services import client_create, contact_create
from conftest import _user

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_c(admin, now):
    return client_create(
        name="Cartoleria Sant'Anna", domains=["cartoleria-santanna.example"], actor=admin, now=now
    )


@pytest.fixture
def contacts(contact_a, contact_b, client_a, admin, now):
    """Alice and Chiara at Acme, Bob at Bravo."""
    chiara = contact_create(
        client=client_a,
        name="Chiara D'Amico",
        email="chiara@acme-dental.example",
        actor=admin,
        now=now,
    )
    return {"alice": contact_a, "chiara": chiara, "bob": contact_b}


def names(qs) -> list[str]:
    return [obj.name for obj in qs]


@pytest.mark.parametrize("persona", ["admin", "manager", "auditor"])
def test_admins_managers_and_auditors_see_every_client(
    request, persona, client_a, client_b, client_c
):
    user = request.getfixturevalue(persona)

    assert names(client_list_for(user)) == ["Acme Dental", "Bravo Legal", "Cartoleria Sant'Anna"]
    assert client_get_for(user, client_b.pk) == client_b


def test_a_technician_sees_only_the_clients_assigned_to_them(technician, client_a, client_b):
    assert names(client_list_for(technician)) == ["Acme Dental"]
    assert client_get_for(technician, client_a.pk) == client_a


def test_a_technician_assigned_to_two_clients_sees_each_once(
    technician, client_a, client_b, client_c
):
    client_c.staff.add(technician)
    # A second technician on the same client must not duplicate the rows of the first.
    client_a.staff.add(_user("tullio", Role.TECHNICIAN))

    assert names(client_list_for(technician)) == ["Acme Dental", "Cartoleria Sant'Anna"]


def test_a_technician_assigned_to_nothing_sees_nothing(db, client_a):
    newcomer = _user("nina", Role.TECHNICIAN)

    assert names(client_list_for(newcomer)) == []
    with pytest.raises(Http404, match=r"^No such client\.$"):
        client_get_for(newcomer, client_a.pk)


def test_a_technician_no_longer_assigned_loses_sight_of_the_client(technician, client_a):
    client_a.staff.remove(technician)

    assert names(client_list_for(technician)) == []


def test_a_superuser_sees_every_client_whatever_their_role(client_a, client_b):
    root = _user("root", Role.TECHNICIAN, is_superuser=True)

    assert names(client_list_for(root)) == ["Acme Dental", "Bravo Legal"]


def test_an_anonymous_or_deactivated_user_sees_nothing(admin, client_a, client_b):
    admin.is_active = False
    admin.save()

    for user in (AnonymousUser(), admin):
        assert names(client_list_for(user)) == []
        with pytest.raises(Http404, match=r"^No such client\.$"):
            client_get_for(user, client_a.pk)


def test_a_client_the_technician_may_not_see_is_a_404_like_a_missing_one(technician, client_b):
    for pk in (client_b.pk, client_b.pk + 1000, "abc", str(client_b.pk), None):
        with pytest.raises(Http404, match=r"^No such client\.$"):
            client_get_for(technician, pk)


def test_a_client_may_be_asked_for_by_its_pk_as_text(admin, client_b):
    assert client_get_for(admin, str(client_b.pk)) == client_b


@pytest.mark.parametrize("persona", ["admin", "manager", "auditor"])
def test_roles_that_see_every_client_see_every_contact(request, persona, contacts):
    user = request.getfixturevalue(persona)

    assert names(contact_list_for(user)) == ["Alice Rossi", "Chiara D'Amico", "Bob Bianchi"]
    assert contact_get_for(user, contacts["bob"].pk) == contacts["bob"]


def test_a_technician_sees_only_the_contacts_of_their_clients(technician, contacts):
    assert names(contact_list_for(technician)) == ["Alice Rossi", "Chiara D'Amico"]
    assert contact_get_for(technician, contacts["chiara"].pk) == contacts["chiara"]
    with pytest.raises(Http404, match=r"^No such contact\.$"):
        contact_get_for(technician, contacts["bob"].pk)


def test_naming_another_client_does_not_widen_what_a_technician_sees(
    technician, contacts, client_b
):
    assert names(contact_list_for(technician, client=client_b)) == []


def test_contacts_can_be_narrowed_to_one_client(manager, contacts, client_a, client_b):
    assert names(contact_list_for(manager, client=client_a)) == ["Alice Rossi", "Chiara D'Amico"]
    assert names(contact_list_for(manager, client=client_b)) == ["Bob Bianchi"]


def test_a_missing_or_malformed_contact_is_a_404(admin, contacts):
    for pk in (contacts["bob"].pk + 1000, "abc", None):
        with pytest.raises(Http404, match=r"^No such contact\.$"):
            contact_get_for(admin, pk)


def test_an_anonymous_user_sees_no_contact(contacts):
    assert names(contact_list_for(AnonymousUser())) == []
    with pytest.raises(Http404, match=r"^No such contact\.$"):
        contact_get_for(AnonymousUser(), contacts["alice"].pk)


def test_listing_contacts_with_their_clients_is_one_query(
    technician, contacts, client_b, django_assert_num_queries
):
    with django_assert_num_queries(1):
        listed = [(c.name, c.client.name) for c in contact_list_for(technician)]

    assert listed == [("Alice Rossi", "Acme Dental"), ("Chiara D'Amico", "Acme Dental")]
