import pytest

from ledger.models import Event
from recommendations.lifecycle import Msg
from recommendations.models import Recommendation

pytestmark = pytest.mark.django_db

URL = "/recommendations/new/"


def from_template(version, client, **overrides) -> dict:
    data = {
        "template_version": version.pk,
        "client": client.pk,
        "owner": "",
        "contact": "",
        "title": version.title,
        "body": version.body,
        "risk_if_ignored": version.risk_if_ignored,
        "severity": version.template.default_severity,
        "category": version.template.category,
        "tags": ", ".join(version.template.tags),
        "scope": "",
    }
    data.update(overrides)
    return data


def test_the_first_step_lists_the_catalog_templates(login, manager, template_mfa, template_fields):
    response = login(manager).get(URL)

    html = response.content.decode()
    assert response.status_code == 200
    assert template_mfa.title in html and template_fields.title in html
    assert f'href="/recommendations/new/?template={template_fields.pk}"' in html
    assert 'href="/recommendations/new/?adhoc=1"' in html


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("q=immutable", {"offsite-backup"}),
        ("q=MFA", {"mfa-remote-access"}),
        ("category=identity", {"mfa-remote-access"}),
        ("category=backup&q=mfa", set()),
    ],
)
def test_the_catalog_can_be_searched(login, manager, template_mfa, template_fields, query, shown):
    response = login(manager).get(f"{URL}?{query}")

    assert {v.template.key for v in response.context["versions"]} == shown
    if not shown:
        assert b"No template matches." in response.content


def test_the_catalog_search_answers_htmx_with_the_results_only(login, manager, template_mfa):
    response = login(manager).get(f"{URL}?q=mfa", headers={"HX-Request": "true"})

    assert b"<html" not in response.content
    assert template_mfa.title.encode() in response.content


def test_the_chosen_client_is_carried_through_the_catalog(login, manager, template_mfa, client_a):
    html = login(manager).get(f"{URL}?client={client_a.pk}").content.decode()

    assert f'<input type="hidden" name="client" value="{client_a.pk}">' in html
    assert f"?template={template_mfa.pk}&amp;client={client_a.pk}" in html


def test_the_template_form_is_prefilled_and_renders_custom_fields_by_type(
    login, manager, template_fields, client_a
):
    response = login(manager).get(f"{URL}?template={template_fields.pk}&client={client_a.pk}")

    html = response.content.decode()
    assert f'value="{template_fields.title}"' in html
    assert template_fields.body in html
    assert '<option value="high" selected>High</option>' in html
    assert f'<option value="{client_a.pk}" selected>Acme Dental</option>' in html
    assert 'type="number" name="cf_servers"' in html
    assert 'type="date" name="cf_first_test"' in html
    assert '<select name="cf_provider"' in html
    assert '<option value="Backblaze B2">Backblaze B2</option>' in html
    assert '<select name="cf_encrypted"' in html


def test_it_creates_a_draft_from_a_template_with_custom_values(
    login, manager, template_fields, client_a, contact_a
):
    data = from_template(
        template_fields,
        client_a,
        owner=manager.pk,
        contact=contact_a.pk,
        title="Keep an immutable off-site backup of the X-ray server",
        cf_servers="3",
        cf_provider="Wasabi",
        cf_first_test="2026-04-01",
        cf_encrypted="yes",
    )

    response = login(manager).post(URL, data)

    rec = Recommendation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/recommendations/{rec.pk}/"
    assert rec.status == "draft"
    assert rec.template_version == template_fields
    assert rec.title == "Keep an immutable off-site backup of the X-ray server"
    assert (rec.owner, rec.contact) == (manager, contact_a)
    assert rec.field_values == {
        "servers": "3",
        "provider": "Wasabi",
        "first_test": "2026-04-01",
        "encrypted": True,
    }
    assert Event.objects.filter(recommendation=rec, kind="recommendation.created").exists()


def test_it_creates_an_ad_hoc_draft(login, manager, client_a):
    response = login(manager).post(
        URL,
        {
            "client": client_a.pk,
            "title": "Replace the end-of-life firewall",
            "body": "The firewall stops receiving updates in June.",
            "risk_if_ignored": "Unpatched perimeter.",
            "severity": "high",
            "tags": "network, firewall",
        },
    )

    assert response.status_code == 302
    rec = Recommendation.objects.get()
    assert (rec.template_version, rec.severity) == (None, "high")
    assert rec.tags == ["firewall", "network"]


def test_the_ad_hoc_form_starts_empty(login, manager):
    response = login(manager).get(f"{URL}?adhoc=1")

    assert response.status_code == 200
    assert response.context["form"]["title"].value() in (None, "")
    assert b"Written ad hoc" in response.content


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "A recommendation needs a title."),
        ({"body": ""}, "body", "A recommendation needs a body."),
        ({"severity": ""}, "severity", "This field is required."),
        ({"client": ""}, "client", "This field is required."),
        ({"cf_servers": ""}, "cf_servers", "Servers in scope is required."),
        ({"cf_servers": "three"}, "cf_servers", "Enter a number."),
        ({"cf_first_test": "soon"}, "cf_first_test", "Enter a valid date."),
    ],
)
def test_refused_input_is_shown_on_its_field_and_nothing_is_stored(
    login, manager, template_fields, client_a, overrides, field, message
):
    data = from_template(template_fields, client_a, cf_servers="2", scope="Main office")
    data.update(overrides)

    response = login(manager).post(URL, data)

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    assert b"Main office</textarea>" in response.content
    assert Recommendation.objects.count() == 0


def test_a_contact_of_another_client_is_refused_by_the_service(
    login, manager, template_mfa, client_a, contact_b
):
    response = login(manager).post(URL, from_template(template_mfa, client_a, contact=contact_b.pk))

    assert response.status_code == 400
    assert response.context["form"].errors["contact"] == [Msg.RESPONDER_OTHER_CLIENT]
    assert Recommendation.objects.count() == 0


def test_a_technician_cannot_create_for_a_client_not_assigned_to_them(
    login, technician, template_mfa, client_b
):
    response = login(technician).post(URL, from_template(template_mfa, client_b))

    assert response.status_code == 400
    assert "client" in response.context["form"].errors
    assert Recommendation.objects.count() == 0


def test_a_technician_is_offered_only_assigned_clients(login, technician, client_b, template_mfa):
    response = login(technician).get(f"{URL}?template={template_mfa.pk}")

    assert list(response.context["form"].fields["client"].queryset) == [
        technician.assigned_clients.get()
    ]


def test_an_auditor_may_not_open_or_post_the_form(login, auditor, template_mfa, client_a):
    browser = login(auditor)

    assert browser.get(URL).status_code == 403
    assert browser.post(URL, from_template(template_mfa, client_a)).status_code == 403
    assert Recommendation.objects.count() == 0


def test_an_unknown_template_is_404(login, manager):
    assert login(manager).get(f"{URL}?template=424242").status_code == 404
    assert login(manager).get(f"{URL}?template=abc").status_code == 404
