"""/api/v1/clients/ and /api/v1/contacts/: scoping, creation through the services."""

from __future__ import annotations

import pytest

from api.tests.support import errors
from clients.models import Client, Contact
from ledger.models import Event

CLIENTS = "/api/v1/clients/"
CONTACTS = "/api/v1/contacts/"


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [item["name"] for item in response.json()["results"]]


def test_clients_are_listed_alphabetically_with_their_domains(api, manager, client_a, client_b):
    response = api(manager).get(CLIENTS)

    assert names(response) == ["Acme Dental", "Bravo Legal"]
    acme = response.json()["results"][0]
    assert acme["domains"] == ["acme-dental.example"]
    assert acme["account_owner"]["username"] == "ada"
    assert acme["regulated"] is True
    assert acme["uuid"] == str(client_a.uuid)


def test_a_technician_sees_only_their_clients(api, technician, client_a, client_b):
    client = api(technician)

    assert names(client.get(CLIENTS)) == ["Acme Dental"]
    assert client.get(f"{CLIENTS}{client_a.pk}/").status_code == 200
    hidden = client.get(f"{CLIENTS}{client_b.pk}/")
    assert hidden.status_code == 404
    assert errors(hidden) == [(None, "not_found", "No such client.")]


def test_an_account_manager_adds_a_client_and_its_ledger_starts(api, manager):
    response = api(manager).post(
        CLIENTS,
        {
            "name": "Carta Srl",
            "domains": ["Carta.example", "@mail.carta.example"],
            "qbr_cadence_months": 6,
            "language": "it",
            "account_owner": manager.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["slug"] == "carta-srl"
    assert body["domains"] == ["carta.example", "mail.carta.example"]
    assert body["qbr_cadence_months"] == 6
    event = Event.objects.get(client_id=body["id"])
    assert (event.seq, event.kind, event.actor) == (1, "client.created", "staff:marco")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [("name", "required", "This field is required.")]),
        (
            {"name": "Acme Dental"},
            [
                ("name", "unique", "Client with this Name already exists."),
                ("slug", "unique", "Client with this Slug already exists."),
            ],
        ),
        (
            {"name": "Delta", "domains": ["acme-dental.example"]},
            [("domains", "invalid", "acme-dental.example already belongs to another client.")],
        ),
        (
            {"name": "Delta", "domains": ["not a domain"]},
            [("domains", "invalid", "'not a domain' is not a valid e-mail domain.")],
        ),
        (
            {"name": "Delta", "time_zone": "Mars/Olympus"},
            [("time_zone", "time_zone", "Unknown time zone 'Mars/Olympus'.")],
        ),
        (
            {"name": "Delta", "language": "de"},
            [("language", "invalid_choice", '"de" is not a valid choice.')],
        ),
    ],
    ids=["no-name", "taken-name", "taken-domain", "bad-domain", "bad-zone", "bad-language"],
)
def test_a_bad_client_is_refused_field_by_field(api, admin, client_a, body, expected):
    before = (Client.objects.count(), Event.objects.count())

    response = api(admin).post(CLIENTS, body, format="json")

    assert response.status_code == 400
    assert errors(response) == expected
    assert (Client.objects.count(), Event.objects.count()) == before


@pytest.mark.parametrize(
    ("persona", "message"),
    [
        ("technician", "Only admins and account managers may add clients."),
        ("auditor", "This account may read but not change anything."),
    ],
)
def test_only_client_managers_add_clients(api, request, persona, message):
    user = request.getfixturevalue(persona)

    response = api(user).post(CLIENTS, {"name": "Echo"}, format="json")

    assert response.status_code == 403
    assert errors(response) == [(None, "permission_denied", message)]
    assert not Client.objects.filter(name="Echo").exists()


def test_contacts_can_be_filtered_by_client(api, admin, contact_a, contact_b, client_a):
    client = api(admin)

    assert names(client.get(CONTACTS)) == ["Alice Rossi", "Bob Bianchi"]
    assert names(client.get(CONTACTS, {"client": client_a.pk})) == ["Alice Rossi"]
    bad = client.get(CONTACTS, {"client": "acme"})
    assert bad.status_code == 400
    assert errors(bad) == [("client", "invalid", "A valid integer is required.")]


def test_a_technician_sees_no_contact_of_another_client(
    api, technician, contact_a, contact_b, client_b
):
    client = api(technician)

    assert names(client.get(CONTACTS)) == ["Alice Rossi"]
    assert names(client.get(CONTACTS, {"client": client_b.pk})) == []
    assert client.get(f"{CONTACTS}{contact_b.pk}/").status_code == 404
    assert client.get(f"{CONTACTS}{contact_a.pk}/").json()["email"] == contact_a.email


def test_a_technician_adds_a_contact_to_their_client(api, technician, client_a):
    response = api(technician).post(
        CONTACTS,
        {
            "client": client_a.pk,
            "name": "Carla Verdi",
            "email": "Carla@Acme-Dental.example",
            "is_decision_maker": True,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["email"] == "carla@acme-dental.example"
    assert response.json()["client"] == client_a.pk
    event = Event.objects.filter(client=client_a).latest("seq")
    assert (event.kind, event.actor) == ("contact.added", "staff:tess")


def test_a_contact_cannot_be_added_to_a_client_out_of_sight(api, technician, client_b):
    response = api(technician).post(
        CONTACTS,
        {"client": client_b.pk, "name": "Mallory", "email": "m@bravo-legal.example"},
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == [("client", "does_not_exist", f"No such client (id {client_b.pk}).")]
    assert not Contact.objects.filter(name="Mallory").exists()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"name": "Alice again", "email": "ALICE@acme-dental.example"},
            [("email", "invalid", "This client already has a contact with that e-mail.")],
        ),
        (
            {"name": "No mail", "email": "not-an-address"},
            [("email", "invalid", "Enter a valid email address.")],
        ),
        ({"email": "x@acme-dental.example"}, [("name", "required", "This field is required.")]),
    ],
    ids=["duplicate-email", "bad-email", "no-name"],
)
def test_a_bad_contact_is_refused(api, admin, client_a, contact_a, body, expected):
    before = (Contact.objects.count(), Event.objects.count())

    response = api(admin).post(CONTACTS, {"client": client_a.pk, **body}, format="json")

    assert response.status_code == 400
    assert errors(response) == expected
    assert (Contact.objects.count(), Event.objects.count()) == before
