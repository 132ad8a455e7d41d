"""clients.services: creating clients with their e-mail domains, and their contacts.

Every write is recorded in the client's ledger; every refusal names the field at
fault and leaves nothing behind (no client, no domain, no contact, no event).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from answers.mail.verify import normalise_domain
from clients.models import Client, ClientDomain, Contact
from clients.services import clean_domains, client_create, contact_create
from ledger.models import GENESIS_HASH, Event, Head
from ledger.verify import verify_client
from lib.errors import NotAllowed

pytestmark = pytest.mark.django_db


def stored() -> tuple[int, int, int, int, int]:
    """Everything a refused write must leave untouched."""
    return (
        Client.objects.count(),
        ClientDomain.objects.count(),
        Contact.objects.count(),
        Event.objects.count(),
        Head.objects.count(),
    )


def refusal(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- clean_domains ---------------------------------------------------------------------


def test_it_lower_cases_strips_and_de_duplicates_domains():
    assert clean_domains(
        [" Acme-Dental.Example ", "@acme-dental.example", "acme-dental.example.", "", "  "]
    ) == ["acme-dental.example"]


def test_it_keeps_the_order_in_which_domains_were_given():
    assert clean_domains(["zeta.example", "alpha.example"]) == [
        "zeta.example",
        "alpha.example",
    ]


def test_it_accepts_the_ascii_form_of_an_internationalised_domain():
    # caffè-roma.example in its IDNA form.
    assert clean_domains(["XN--CAFF-ROMA-33A.example"]) == ["xn--caff-roma-33a.example"]


@pytest.mark.parametrize(
    "bad",
    [
        "localhost",
        "studio_rossi.example",
        "-acme.example",
        "acme-.example",
        "acme..example",
        "alice@acme-dental.example",
        "acme dental.example",
        "@",
        "a" * 64 + ".example",
    ],
)
def test_it_refuses_a_malformed_domain_and_quotes_it(bad):
    with pytest.raises(ValidationError) as exc:
        clean_domains(["acme-dental.example", f" {bad} "])

    assert refusal(exc) == {"domains": [f"{bad!r} is not a valid e-mail domain."]}


# --- client_create ---------------------------------------------------------------------


def test_it_creates_a_client_with_its_domains_and_the_genesis_of_its_ledger(admin, now):
    client = client_create(
        name="  Studio Dentistico D'Angelo ",
        domains=["Dangelo-Dentisti.example", "@studio-dangelo.example", "dangelo-dentisti.example"],
        actor=admin,
        now=now,
        industry="Odontoiatria",
        regulated=True,
        account_owner=admin,
        qbr_cadence_months=6,
        time_zone="Europe/Zurich",
        language="it",
    )

    client = Client.objects.get(pk=client.pk)
    assert (client.name, client.slug) == ("Studio Dentistico D'Angelo", "studio-dentistico-dangelo")
    assert (client.industry, client.regulated, client.account_owner) == (
        "Odontoiatria",
        True,
        admin,
    )
    assert (client.qbr_cadence_months, client.time_zone, client.language) == (
        6,
        "Europe/Zurich",
        "it",
    )
    assert client.created_at == now
    assert list(client.domains.values_list("domain", flat=True)) == [
        "dangelo-dentisti.example",
        "studio-dangelo.example",
    ]
    (event,) = Event.objects.filter(client=client)
    assert (event.seq, event.kind, event.actor, event.at, event.prev_hash) == (
        1,
        "client.created",
        "staff:ada",
        now,
        GENESIS_HASH,
    )
    assert event.data == {
        "name": "Studio Dentistico D'Angelo",
        "domains": ["dangelo-dentisti.example", "studio-dangelo.example"],
        "regulated": True,
        "account_owner": "ada",
    }
    head = Head.objects.get(client=client)
    assert (head.seq, head.hash) == (1, event.hash)
    assert verify_client(client).ok


def test_a_client_needs_no_domain_and_no_account_owner(admin, now):
    client = client_create(name="Pasticceria Così Buona", actor=admin, now=now)

    assert client.slug == "pasticceria-cosi-buona"
    assert not client.domains.exists()
    assert Event.objects.get(client=client).data == {
        "name": "Pasticceria Così Buona",
        "domains": [],
        "regulated": False,
        "account_owner": None,
    }


def test_a_system_actor_is_recorded_as_such(now):
    client = client_create(name="Ferramenta Bianchi", actor="tracker", now=now)

    assert Event.objects.get(client=client).actor == "system:tracker"


def test_a_slug_given_is_kept(admin, now):
    client = client_create(name="Acme Dental", slug="acme", actor=admin, now=now)

    assert client.slug == "acme"


def test_it_refuses_a_domain_already_claimed_by_another_client(client_a, admin, now):
    before = stored()

    with pytest.raises(ValidationError) as exc:
        client_create(
            name="Acme Dental Milano",
            domains=["acme-milano.example", "ACME-DENTAL.example"],
            actor=admin,
            now=now,
        )

    assert refusal(exc) == {"domains": ["acme-dental.example already belongs to another client."]}
    assert stored() == before
    assert not ClientDomain.objects.filter(domain="acme-milano.example").exists()


def test_it_refuses_a_malformed_domain_and_stores_nothing(admin, now):
    before = stored()

    with pytest.raises(ValidationError) as exc:
        client_create(
            name="Caffè Roma",
            domains=["caffe-roma.example", "caffe roma.example"],
            actor=admin,
            now=now,
        )

    assert refusal(exc) == {"domains": ["'caffe roma.example' is not a valid e-mail domain."]}
    assert stored() == before


def test_it_accepts_an_internationalised_domain(admin, now):
    client = client_create(name="Caffè Roma", domains=["caffè-roma.example"], actor=admin, now=now)

    (domain,) = client.domains.values_list("domain", flat=True)
    assert normalise_domain(domain) == normalise_domain("caffè-roma.example")


def test_it_creates_a_client_whose_name_is_not_in_latin_script(admin, now):
    client = client_create(name="Οδοντιατρείο Παπαδόπουλος", actor=admin, now=now)

    assert client.name == "Οδοντιατρείο Παπαδόπουλος"
    assert client.slug


def test_it_refuses_a_second_client_of_the_same_name(client_a, admin, now):
    before = stored()

    with pytest.raises(ValidationError) as exc:
        client_create(name="Acme Dental", domains=["acme2.example"], actor=admin, now=now)

    assert refusal(exc) == {
        "name": ["Client with this Name already exists."],
        "slug": ["Client with this Slug already exists."],
    }
    assert stored() == before


def test_it_refuses_a_name_whose_slug_is_taken(client_a, admin, now):
    before = stored()

    with pytest.raises(ValidationError) as exc:
        client_create(name="ACME  dental!", actor=admin, now=now)

    assert refusal(exc) == {"slug": ["Client with this Slug already exists."]}
    assert stored() == before


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"name": "   "},
            # Only the name is at fault: the slug made from it is no second error.
            {"name": ["This field cannot be blank."]},
        ),
        (
            {"name": "x" * 201},
            {"name": ["Ensure this value has at most 200 characters (it has 201)."]},
        ),
        ({"time_zone": "Europe/Milano"}, {"time_zone": ["Unknown time zone 'Europe/Milano'."]}),
        ({"language": "fr"}, {"language": ["Value 'fr' is not a valid choice."]}),
        ({"qbr_cadence_months": 2}, {"qbr_cadence_months": ["Value 2 is not a valid choice."]}),
        (
            {"slug": "acme dental"},
            {
                "slug": [
                    "Enter a valid “slug” consisting of letters, numbers, underscores or hyphens."
                ]
            },
        ),
    ],
)
def test_it_refuses_invalid_client_fields_and_stores_nothing(admin, now, fields, errors):
    before = stored()

    with pytest.raises(ValidationError) as exc:
        client_create(
            **{"name": "Ottica Nardò", "domains": ["ottica-nardo.example"], **fields},
            actor=admin,
            now=now,
        )

    assert refusal(exc) == errors
    assert stored() == before


def test_it_refuses_an_anonymous_actor_and_rolls_everything_back(now):
    before = stored()

    # The role table refuses an anonymous actor before anything is written.
    with pytest.raises(NotAllowed, match=r"^This account may read but not change anything\.$"):
        client_create(
            name="Ottica Nardò", domains=["ottica-nardo.example"], actor=AnonymousUser(), now=now
        )

    assert stored() == before


# --- contact_create --------------------------------------------------------------------


def test_it_adds_a_contact_and_records_it_in_the_clients_ledger(client_a, technician, now):
    head_before = Head.objects.get(client=client_a).seq

    contact = contact_create(
        client=client_a,
        name="  Dott.ssa Chiara D'Amico ",
        email=" Chiara.DAmico@Acme-Dental.example ",
        actor=technician,
        now=now,
        is_decision_maker=True,
        is_escalation_contact=True,
        phone="+39 02 1234 5678",
        job_title="Direttrice sanitaria",
    )

    contact = Contact.objects.get(pk=contact.pk)
    assert (contact.client, contact.name, contact.email) == (
        client_a,
        "Dott.ssa Chiara D'Amico",
        "chiara.damico@acme-dental.example",
    )
    assert (contact.phone, contact.job_title) == ("+39 02 1234 5678", "Direttrice sanitaria")
    assert (contact.is_decision_maker, contact.is_escalation_contact, contact.is_active) == (
        True,
        True,
        True,
    )
    assert contact.created_at == now
    event = Event.objects.filter(client=client_a).latest("seq")
    assert (event.seq, event.kind, event.actor, event.at) == (
        head_before + 1,
        "contact.added",
        "staff:tess",
        now,
    )
    assert event.data == {
        "contact": contact.pk,
        "name": "Dott.ssa Chiara D'Amico",
        "email": "chiara.damico@acme-dental.example",
        "decision_maker": True,
    }
    assert verify_client(client_a).ok


def test_a_contact_is_not_a_decision_maker_unless_said(client_a, admin, now):
    contact = contact_create(
        client=client_a, name="Luca Ferrè", email="luca@acme-dental.example", actor=admin, now=now
    )

    assert (contact.is_decision_maker, contact.is_escalation_contact) == (False, False)
    assert Event.objects.filter(client=client_a).latest("seq").data["decision_maker"] is False


def test_a_contact_may_write_from_outside_the_clients_domains(client_a, admin, now):
    # A decision maker may use a personal address; the domains only decide whether
    # inbound e-mail speaks for the client.
    contact = contact_create(
        client=client_a, name="Anna Müller", email="anna.mueller@gmx.example", actor=admin, now=now
    )

    assert contact.email == "anna.mueller@gmx.example"


def test_the_same_person_may_be_a_contact_at_two_clients(contact_a, client_b, admin, now):
    other = contact_create(
        client=client_b, name="Alice Rossi", email=contact_a.email, actor=admin, now=now
    )

    assert other.client == client_b
    assert Contact.objects.filter(email=contact_a.email).count() == 2


def test_it_refuses_a_second_contact_with_the_same_email_at_one_client(contact_a, admin, now):
    before = stored()

    with pytest.raises(ValidationError) as exc:
        contact_create(
            client=contact_a.client,
            name="Alice Rossi (reception)",
            email="ALICE@acme-dental.example",
            actor=admin,
            now=now,
        )

    assert refusal(exc) == {"email": ["This client already has a contact with that e-mail."]}
    assert stored() == before


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": "  "}, {"name": ["This field cannot be blank."]}),
        ({"email": "alice.acme-dental.example"}, {"email": ["Enter a valid email address."]}),
        ({"email": ""}, {"email": ["This field cannot be blank."]}),
        (
            {"phone": "+39 " + "0" * 40},
            {"phone": ["Ensure this value has at most 40 characters (it has 44)."]},
        ),
        (
            {"job_title": "R" * 121},
            {"job_title": ["Ensure this value has at most 120 characters (it has 121)."]},
        ),
    ],
)
def test_it_refuses_invalid_contact_fields_and_stores_nothing(client_a, admin, now, fields, errors):
    before = stored()

    with pytest.raises(ValidationError) as exc:
        contact_create(
            **{
                "client": client_a,
                "name": "Renée O'Connor",
                "email": "renee@acme-dental.example",
                **fields,
            },
            actor=admin,
            now=now,
        )

    assert refusal(exc) == errors
    assert stored() == before


def test_it_refuses_an_anonymous_actor_and_keeps_no_contact(client_a, now):
    before = stored()

    # The role table refuses an anonymous actor before anything is written.
    with pytest.raises(NotAllowed, match=r"^This account may read but not change anything\.$"):
        contact_create(
            client=client_a,
            name="Renée O'Connor",
            email="renee@acme-dental.example",
            actor=AnonymousUser(),
            now=now,
        )

    assert stored() == before
