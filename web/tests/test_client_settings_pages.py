"""Client administration pages: create and edit a client, its assigned staff, its
contacts, its follow-up policy, and the webhooks."""

from __future__ import annotations

import re

import pytest

from clients.models import Client, ClientPolicy, Contact
from clients.services import Msg as ClientMsg
from clients.services import contact_create
from followup.models import WebhookEndpoint
from ledger.models import Event

pytestmark = pytest.mark.django_db


def _client_form(**changes):
    data = {
        "name": "Caffè Sant'Ambrogio",
        "industry": "Hospitality",
        "account_owner": "",
        "language": "it",
        "time_zone": "Europe/Rome",
        "qbr_cadence_months": "3",
        "domains": "caffe-santambrogio.example\nsantambrogio.example",
    }
    data.update(changes)
    return data


# --- creating a client ------------------------------------------------------------------


def test_a_manager_creates_a_client_with_its_domains(login, manager):
    response = login(manager).post("/clients/new/", _client_form(regulated="on"))

    client = Client.objects.get(name="Caffè Sant'Ambrogio")
    assert response.status_code == 302
    assert response["Location"] == f"/clients/{client.pk}/settings/"
    assert (client.language, client.regulated) == ("it", True)
    assert sorted(client.domains.values_list("domain", flat=True)) == [
        "caffe-santambrogio.example",
        "santambrogio.example",
    ]


def test_a_client_with_a_domain_of_another_is_refused_with_the_input_kept(login, manager, client_a):
    response = login(manager).post(
        "/clients/new/", _client_form(domains="caffe-santambrogio.example, acme-dental.example")
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "domains": [ClientMsg.DOMAIN_TAKEN.format(domain="acme-dental.example")]
    }
    assert "Caffè Sant&#x27;Ambrogio" in response.content.decode()
    assert not Client.objects.filter(name__startswith="Caffè").exists()


@pytest.mark.parametrize("who", ["technician", "auditor"])
def test_technicians_and_auditors_cannot_create_clients(login, who, request):
    browser = login(request.getfixturevalue(who))

    assert browser.get("/clients/new/").status_code == 403
    assert browser.post("/clients/new/", _client_form()).status_code == 403
    assert not Client.objects.filter(name__startswith="Caffè").exists()


# --- editing a client ----------------------------------------------------------------------


def test_a_manager_edits_a_client(login, manager, client_a):
    response = login(manager).post(
        f"/clients/{client_a.pk}/settings/",
        _client_form(name="Acme Dental Srl", domains="acme-dental.example", time_zone="UTC"),
    )

    assert response.status_code == 302
    client = Client.objects.get(pk=client_a.pk)
    assert (client.name, client.time_zone, client.language) == ("Acme Dental Srl", "UTC", "it")
    assert Event.objects.filter(client=client, kind="client.updated").count() == 1


def test_a_manager_sets_the_clients_psa_company_and_it_is_a_ledger_change(login, manager, client_a):
    page = login(manager).get(f"/clients/{client_a.pk}/settings/").content.decode()
    assert 'name="psa_company_id"' in page
    response = login(manager).post(
        f"/clients/{client_a.pk}/settings/",
        _client_form(domains="acme-dental.example", psa_company_id="29683512"),
    )

    assert response.status_code == 302
    assert Client.objects.get(pk=client_a.pk).psa_company_id == 29_683_512
    event = Event.objects.get(client=client_a, kind="client.updated")
    assert event.data["changes"]["psa_company_id"] == {"old": None, "new": 29_683_512}


@pytest.mark.parametrize("value", ["0", "-4", "abc", "99999999999"])
def test_a_psa_company_that_is_no_id_is_refused_on_its_field(login, manager, client_a, value):
    response = login(manager).post(
        f"/clients/{client_a.pk}/settings/", _client_form(psa_company_id=value)
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["psa_company_id"]
    assert Client.objects.get(pk=client_a.pk).psa_company_id is None
    assert not Event.objects.filter(kind="client.updated").exists()


def test_an_unknown_time_zone_is_refused_on_its_field(login, manager, client_a):
    response = login(manager).post(
        f"/clients/{client_a.pk}/settings/", _client_form(time_zone="Europe/Milano")
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["time_zone"]
    assert 'value="Europe/Milano"' in response.content.decode()
    client = Client.objects.get(pk=client_a.pk)
    assert (client.name, client.time_zone) == ("Acme Dental", "Europe/Rome")
    assert not Event.objects.filter(kind="client.updated").exists()


def test_a_technician_reads_the_settings_of_their_client_but_cannot_change_them(
    login, technician, client_a
):
    browser = login(technician)

    page = browser.get(f"/clients/{client_a.pk}/settings/")
    assert page.status_code == 200
    assert b'id="client-form"' not in page.content
    assert browser.post(f"/clients/{client_a.pk}/settings/", _client_form()).status_code == 403
    assert Client.objects.get(pk=client_a.pk).name == "Acme Dental"


def test_another_clients_settings_are_a_404_for_a_technician(
    login, technician, client_b, contact_b
):
    browser = login(technician)

    for url in (
        f"/clients/{client_b.pk}/settings/",
        f"/clients/{client_b.pk}/contacts/new/",
        f"/clients/{client_b.pk}/policy/",
        f"/contacts/{contact_b.pk}/edit/",
    ):
        assert browser.get(url).status_code == 404, url
    assert browser.post(f"/contacts/{contact_b.pk}/deactivate/").status_code == 404
    assert browser.post(f"/clients/{client_b.pk}/staff/assign/", {"user": 1}).status_code == 404
    assert Contact.objects.get(pk=contact_b.pk).is_active


def test_the_settings_page_makes_as_many_queries_for_twenty_contacts_as_for_two(
    login, manager, admin, client_a, now, count_queries, django_assert_num_queries
):
    from accounts.models import User

    def add(start, stop):
        for i in range(start, stop):
            contact_create(
                client=client_a,
                name=f"Contatto {i}",
                email=f"c{i}@acme-dental.example",
                actor=admin,
                now=now,
            )
            client_a.staff.add(User.objects.create_user(username=f"t{i}", role="technician"))

    add(0, 2)
    browser = login(manager)
    expected = count_queries(lambda: browser.get(f"/clients/{client_a.pk}/settings/"))
    add(2, 20)

    with django_assert_num_queries(expected):
        response = browser.get(f"/clients/{client_a.pk}/settings/")
    assert len(response.context["contacts"]) == 20


# --- assigned staff from the client's page --------------------------------------------------


def test_a_manager_assigns_and_unassigns_a_technician(login, manager, technician, client_b):
    browser = login(manager)

    response = browser.post(f"/clients/{client_b.pk}/staff/assign/", {"user": technician.pk})
    assert response.status_code == 302
    assert client_b.staff.filter(pk=technician.pk).exists()
    response = browser.post(f"/clients/{client_b.pk}/staff/unassign/", {"user": technician.pk})
    assert response.status_code == 302
    assert not client_b.staff.filter(pk=technician.pk).exists()


def test_assigning_someone_not_assignable_is_refused_on_the_field(
    login, manager, auditor, client_b
):
    response = login(manager).post(f"/clients/{client_b.pk}/staff/assign/", {"user": auditor.pk})

    assert response.status_code == 400
    assert list(response.context["assign_form"].errors) == ["user"]
    assert not client_b.staff.exists()


def test_a_technician_cannot_assign_colleagues(login, technician, client_a):
    from accounts.models import User

    other = User.objects.create_user(username="bruno", role="technician")
    response = login(technician).post(f"/clients/{client_a.pk}/staff/assign/", {"user": other.pk})

    assert response.status_code == 403
    assert not client_a.staff.filter(pk=other.pk).exists()


# --- contacts ----------------------------------------------------------------------------


def _contact_form(**changes):
    data = {
        "name": "Giulia D'Angelo",
        "email": "giulia.dangelo@acme-dental.example",
        "phone": "+39 02 1234 5678",
        "job_title": "Direttrice sanitaria",
        "language": "it",
        "is_decision_maker": "on",
    }
    data.update(changes)
    return data


def test_a_technician_adds_and_edits_a_contact_of_their_client(login, technician, client_a):
    browser = login(technician)

    response = browser.post(f"/clients/{client_a.pk}/contacts/new/", _contact_form())
    assert response.status_code == 302
    giulia = Contact.objects.get(email="giulia.dangelo@acme-dental.example")
    assert (giulia.is_decision_maker, giulia.language) == (True, "it")

    response = browser.post(f"/contacts/{giulia.pk}/edit/", _contact_form(is_decision_maker=""))
    assert response.status_code == 302
    giulia.refresh_from_db()
    assert giulia.is_decision_maker is False
    assert Event.objects.filter(client=client_a, kind="contact.updated").count() == 1

    assert browser.post(f"/contacts/{giulia.pk}/deactivate/").status_code == 302
    assert not Contact.objects.get(pk=giulia.pk).is_active


def test_a_contact_with_a_taken_email_is_refused_with_the_input_kept(
    login, manager, client_a, contact_a
):
    response = login(manager).post(
        f"/clients/{client_a.pk}/contacts/new/", _contact_form(email=contact_a.email)
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {"email": [ClientMsg.EMAIL_TAKEN]}
    assert "Giulia D&#x27;Angelo" in response.content.decode()
    assert Contact.objects.filter(client=client_a).count() == 1


def test_an_auditor_cannot_change_contacts(login, auditor, client_a, contact_a):
    browser = login(auditor)

    assert browser.post(f"/clients/{client_a.pk}/contacts/new/", _contact_form()).status_code == 403
    assert browser.post(f"/contacts/{contact_a.pk}/edit/", _contact_form()).status_code == 403
    assert browser.post(f"/contacts/{contact_a.pk}/deactivate/").status_code == 403
    contact_a.refresh_from_db()
    assert (contact_a.name, contact_a.is_active) == ("Alice Rossi", True)


# --- follow-up policy -------------------------------------------------------------------------


def _policy_form(**changes):
    data = {
        "tier": "Oro",
        "critical_days": "3",
        "high_days": "",
        "medium_days": "",
        "low_days": "45",
        "reminders": "on",
        "level2_after_days": "2",
        "level3_after_days": "3",
        "max_deferrals": "1",
        "rejection_review_months": "6",
        "weekly_weekday": "0",
    }
    data.update(changes)
    return data


def test_a_client_without_a_policy_is_offered_every_default_of_the_policy(
    login, admin, client_a, monkeypatch
):
    import dataclasses

    from clients.policy import Policy

    changed = Policy(
        business_days=True,
        reminders=False,
        level2_after_days=5,
        level3_after_days=9,
        max_deferrals=4,
        rejection_review_months=18,
        review_at_next_qbr=True,
        weekly_severities=("low",),
        weekly_weekday=3,
    )
    monkeypatch.setattr("web.staff.views.DEFAULT", changed)

    initial = login(admin).get(f"/clients/{client_a.pk}/policy/").context["form"].initial

    shared = [f.name for f in dataclasses.fields(Policy) if f.name != "response_days"]
    expected = {name: getattr(changed, name) for name in shared}
    expected["weekly_severities"] = ["low"]
    assert {name: initial[name] for name in shared} == expected
    assert initial["tier"] == ""


def test_an_admin_sets_the_follow_up_policy(login, admin, client_a):
    response = login(admin).post(f"/clients/{client_a.pk}/policy/", _policy_form())

    assert response.status_code == 302
    policy = ClientPolicy.objects.get(client=client_a)
    assert (policy.tier, policy.critical_days, policy.high_days, policy.low_days) == (
        "Oro",
        3,
        None,
        45,
    )
    assert policy.as_policy().response_days["critical"] == 3


def test_the_quiet_settings_are_set_on_the_policy_page_and_shown_again(login, admin, client_a):
    browser = login(admin)
    form = _policy_form(weekly_severities=["low", "medium"], weekly_weekday="4")

    assert browser.post(f"/clients/{client_a.pk}/policy/", form).status_code == 302
    policy = ClientPolicy.objects.get(client=client_a).as_policy()
    assert policy.weekly_severities == ("medium", "low") and policy.weekly_weekday == 4
    page = browser.get(f"/clients/{client_a.pk}/policy/").content.decode()
    assert re.search(r'value="low"[^>]*checked', page) and re.search(
        r'value="4"[^>]*selected', page
    )
    refused = browser.post(f"/clients/{client_a.pk}/policy/", _policy_form(weekly_weekday="9"))
    assert refused.status_code == 400 and list(refused.context["form"].errors) == ["weekly_weekday"]


def test_a_policy_out_of_range_is_refused_on_its_field(login, admin, client_a):
    response = login(admin).post(f"/clients/{client_a.pk}/policy/", _policy_form(critical_days="0"))

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["critical_days"]
    assert 'value="Oro"' in response.content.decode()
    assert not ClientPolicy.objects.exists()


def test_a_manager_reads_the_policy_but_cannot_set_it(login, manager, client_a):
    browser = login(manager)

    assert browser.get(f"/clients/{client_a.pk}/policy/").status_code == 200
    assert browser.post(f"/clients/{client_a.pk}/policy/", _policy_form()).status_code == 403
    assert not ClientPolicy.objects.exists()


# --- webhooks ---------------------------------------------------------------------------------


def test_an_admin_adds_and_disables_a_webhook(login, admin):
    browser = login(admin)

    response = browser.post(
        "/settings/webhooks/",
        {
            "name": "SIEM",
            "url": "https://siem.msp.example/heeded",
            "kind": "standard",
            "event_types": "recommendation.accept, recommendation.reject",
        },
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["recommendation.accept", "recommendation.reject"]
    assert endpoint.signing_secret() in response.content.decode()  # shown once, after creation
    assert browser.get("/settings/webhooks/").content.decode().count(endpoint.signing_secret()) == 0

    assert browser.post(f"/settings/webhooks/{endpoint.pk}/disable/").status_code == 302
    assert not WebhookEndpoint.objects.get().is_active


def test_a_webhook_with_a_bad_url_is_refused_on_its_field(login, admin):
    response = login(admin).post(
        "/settings/webhooks/", {"name": "Teams", "url": "ftp://teams.example/x", "kind": "teams"}
    )

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["url"]
    assert 'value="ftp://teams.example/x"' in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_webhooks_are_admin_business(login, manager, technician, admin, now):
    from followup.services.webhooks import webhook_endpoint_create

    endpoint = webhook_endpoint_create(
        name="SIEM", url="https://siem.msp.example/h", kind="standard", now=now, actor=admin
    )
    browser = login(manager)
    assert browser.get("/settings/webhooks/").status_code == 200
    form = {"name": "X", "url": "https://x.example/", "kind": "slack"}
    assert browser.post("/settings/webhooks/", form).status_code == 403
    assert browser.post(f"/settings/webhooks/{endpoint.pk}/disable/").status_code == 403
    browser.force_login(technician)
    assert browser.get("/settings/webhooks/").status_code == 404
    assert browser.post(f"/settings/webhooks/{endpoint.pk}/disable/").status_code == 404
    assert WebhookEndpoint.objects.filter(is_active=True).count() == 1


def test_the_webhook_list_makes_as_many_queries_for_twelve_endpoints_as_for_two(
    login, admin, now, count_queries, django_assert_num_queries
):
    from followup.services.webhooks import webhook_endpoint_create

    def add(start, stop):
        for i in range(start, stop):
            webhook_endpoint_create(
                name=f"Hook {i}", url=f"https://h{i}.example/", kind="slack", now=now, actor=admin
            )

    add(0, 2)
    browser = login(admin)
    expected = count_queries(lambda: browser.get("/settings/webhooks/"))
    add(2, 12)

    with django_assert_num_queries(expected):
        response = browser.get("/settings/webhooks/")
    assert len(response.context["endpoints"]) == 12
