"""The catalog pages: the list (filters, order and page in the URL, a query count that
does not grow with the catalog), a template with its versions, adding and revising a
template in English and Italian, and who may do which."""

from __future__ import annotations

import pytest

from catalog.models import Template, TemplateVersion
from catalog.services import template_create
from recommendations.models import Recommendation
from web import views_catalog

pytestmark = pytest.mark.django_db

NEW = {
    "key": "dmarc-reject",
    "category": "email",
    "default_severity": "high",
    "tags": "DMARC, e-mail",
    "title": "Move DMARC to p=reject on every domain",
    "body": "Publish DMARC and move it to p=reject once reports are clean.",
    "risk_if_ignored": "Anyone can send mail that appears to come from the company.",
    "title_it": "Portare il DMARC a p=reject su tutti i domini",
    "body_it": "Pubblicare il DMARC e portarlo a p=reject quando i report sono puliti.",
    "risk_if_ignored_it": "Chiunque può inviare e-mail che sembrano dell'azienda.",
    "control_refs": "CIS v8 9.5\nNIST CSF 2.0: PR.DS-02",
    "verification_rule": "DMARC record of every domain reads p=reject.",
    "fields-TOTAL_FORMS": "2",
    "fields-INITIAL_FORMS": "0",
    "fields-MIN_NUM_FORMS": "0",
    "fields-MAX_NUM_FORMS": "30",
    "fields-0-key": "domains",
    "fields-0-label": "Domains in scope",
    "fields-0-type": "number",
    "fields-0-required": "on",
    "fields-1-key": "",
    "fields-1-label": "",
    "fields-1-type": "text",
}


def _catalog(count: int, admin, now, *, start: int = 0) -> None:
    for n in range(start, start + count):
        template_create(
            key=f"template-{n:03d}",
            title=f"Template number {n:03d}",
            body="Do the thing.",
            category="identity" if n % 2 else "backup",
            default_severity="high" if n % 3 else "low",
            tags=["even"] if n % 2 == 0 else ["odd"],
            title_it=f"Modello numero {n:03d}" if n % 4 else "",
            body_it="Fare la cosa." if n % 4 else "",
            now=now,
            actor=admin,
        )


def _keys(response) -> list[str]:
    return [t.key for t in response.context["page"].object_list]


def test_the_list_costs_the_same_queries_however_large_the_catalog(
    login, technician, admin, now, count_queries, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr(views_catalog, "PAGE_SIZE", 20)
    _catalog(3, admin, now)
    browser = login(technician)
    expected = count_queries(lambda: browser.get("/catalog/"))
    _catalog(30, admin, now, start=3)

    with django_assert_num_queries(expected):
        response = browser.get("/catalog/?sort=-updated")
    assert len(response.context["page"].object_list) == 20
    assert b'id="templates"' in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=numero+005", ["template-005"]),
        ("q=NUMBER+007", ["template-007"]),
        ("tag=odd&category=identity&severity=low", ["template-003", "template-009"]),
        ("without_italian=on&tag=even", ["template-000", "template-004", "template-008"]),
    ],
)
def test_the_list_filters_by_search_tag_severity_category_and_language(
    login, manager, admin, now, query, expected
):
    _catalog(12, admin, now)

    response = login(manager).get(f"/catalog/?{query}")

    assert _keys(response) == expected


def test_the_page_and_the_order_live_in_the_url(login, manager, admin, now, monkeypatch):
    monkeypatch.setattr(views_catalog, "PAGE_SIZE", 5)
    _catalog(12, admin, now)

    response = login(manager).get("/catalog/?tag=even&sort=title&page=2")

    assert _keys(response) == ["template-010"]
    assert 'href="?tag=even&amp;sort=title&amp;page=1"' in response.content.decode()


def test_a_template_page_shows_both_languages_and_every_version(
    login, technician, presented, template_mfa, admin, now
):
    from catalog.services import template_revise

    template_revise(
        template=template_mfa.template,
        title="Require phishing-resistant MFA",
        body="Use FIDO2 keys.",
        title_it="Richiedere un'MFA resistente al phishing",
        body_it="Usare chiavi FIDO2.",
        now=now,
        actor=admin,
    )
    browser = login(technician)

    latest = browser.get(f"/catalog/{template_mfa.template_id}/").content.decode()
    first = browser.get(f"/catalog/{template_mfa.template_id}/?version=1").content.decode()

    assert "Richiedere un&#x27;MFA resistente al phishing" in latest
    assert "1 recommendation" in latest  # version 1 keeps the presented item's text
    assert f'href="/catalog/{template_mfa.template_id}/revise/"' not in latest
    assert template_mfa.body in first and 'id="older-version"' in first
    assert "No Italian text in this version" in first
    assert browser.get(f"/catalog/{template_mfa.template_id}/?version=9").status_code == 404
    assert browser.get("/catalog/999999/").status_code == 404


def test_an_account_manager_adds_a_template_in_both_languages(login, manager):
    response = login(manager).post("/catalog/new/", NEW)

    template = Template.objects.get(key="dmarc-reject")
    assert response.status_code == 302 and response["Location"] == f"/catalog/{template.pk}/"
    version = template.versions.get()
    assert version.title_it == NEW["title_it"] and version.created_by == manager
    assert version.control_refs == [
        {"framework": "CIS v8", "id": "9.5"},
        {"framework": "NIST CSF 2.0", "id": "PR.DS-02"},
    ]
    assert version.custom_fields == [
        {
            "key": "domains",
            "label": "Domains in scope",
            "type": "number",
            "required": True,
            "choices": [],
        }
    ]
    assert template.tags == ["dmarc", "e-mail"]


def test_bad_input_puts_each_error_on_its_field_and_stores_nothing(login, manager):
    bad = {
        **NEW,
        "title_it": "",
        "control_refs": "CIS v8 9.5\nISO 27001 A.8.23",
        "fields-0-type": "choice",
    }

    response = login(manager).post("/catalog/new/", bad)

    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["title_it"] == ["The Italian text needs a title too."]
    assert form.errors["control_refs"] == [
        "Reference 2: needs a framework (CIS v8, NIST CSF 2.0) and an id."
    ]
    assert response.context["custom_field_errors"] == [
        "custom field 1 (domains): a choice field needs a list of choices."
    ]
    html = response.content.decode()
    assert "The Italian text needs a title too." in html
    assert NEW["body_it"] in html and "9.5\nISO 27001 A.8.23" in html  # the input is kept
    assert not Template.objects.exists() and not TemplateVersion.objects.exists()


def test_revising_from_the_page_adds_a_version_and_the_presented_item_keeps_its_text(
    login, admin, presented, template_mfa
):
    browser = login(admin)
    form = browser.get(f"/catalog/{template_mfa.template_id}/revise/").context["form"]
    data = {
        **{k: v for k, v in form.initial.items() if v is not None},
        "body": "Enforce phishing-resistant MFA on VPN, RDP gateways and webmail.",
        "title_it": "Attivare l'MFA su tutti gli accessi da remoto",
        "body_it": "Rendere obbligatoria un'MFA resistente al phishing su VPN e webmail.",
        "risk_if_ignored_it": "Basta una password rubata per entrare da remoto.",
        "fields-TOTAL_FORMS": "0",
        "fields-INITIAL_FORMS": "0",
    }

    response = browser.post(f"/catalog/{template_mfa.template_id}/revise/", data)

    assert response.status_code == 302
    assert template_mfa.template.versions.count() == 2
    rec = Recommendation.objects.get(pk=presented.pk)
    assert (rec.body, rec.text_sha256, rec.template_version_id) == (
        presented.body,
        presented.text_sha256,
        template_mfa.pk,
    )
    page = browser.get(f"/recommendations/{presented.pk}/").content.decode()
    assert presented.body in page and "phishing-resistant" not in page


@pytest.mark.parametrize("persona", ["technician", "auditor"])
def test_technicians_and_auditors_cannot_open_or_post_the_forms(
    login, request, persona, template_mfa
):
    browser = login(request.getfixturevalue(persona))
    revise = f"/catalog/{template_mfa.template_id}/revise/"

    assert browser.get("/catalog/new/").status_code == 403
    assert browser.get(revise).status_code == 403
    assert browser.post("/catalog/new/", NEW).status_code == 403
    assert browser.post(revise, NEW).status_code == 403
    assert browser.get("/catalog/").status_code == 200
    assert 'href="/catalog/new/"' not in browser.get("/catalog/").content.decode()
    assert Template.objects.count() == 1 and TemplateVersion.objects.count() == 1


def test_the_new_recommendation_form_fills_in_the_clients_language_and_says_when_it_cannot(
    login, manager, client_b, template_mfa, admin, now
):
    bilingual = template_create(
        key="restore-test",
        title="Test restores every quarter",
        body="Restore a sample every quarter.",
        title_it="Provare i ripristini ogni trimestre",
        body_it="Ripristinare un campione ogni trimestre.",
        category="backup",
        default_severity="high",
        now=now,
        actor=admin,
    )
    browser = login(manager)

    italian = browser.get(f"/recommendations/new/?template={bilingual.pk}&client={client_b.pk}")
    english = browser.get(
        f"/recommendations/new/?template={bilingual.pk}&client={client_b.pk}&language=en"
    )
    fallback = browser.get(f"/recommendations/new/?template={template_mfa.pk}&client={client_b.pk}")

    assert italian.context["form"].initial["title"] == "Provare i ripristini ogni trimestre"
    assert italian.context["form"].initial["language"] == "it"
    assert english.context["form"].initial["title"] == "Test restores every quarter"
    assert "has no Italian text" in fallback.content.decode()
    assert fallback.context["form"].initial["language"] == "en"


def test_an_ad_hoc_recommendation_in_italian_from_the_form(login, manager, client_a):
    response = login(manager).post(
        "/recommendations/new/",
        {
            "client": client_a.pk,
            "title": "Cifrare i portatili con BitLocker",
            "body": "Attivare BitLocker con TPM su tutti i portatili.",
            "severity": "high",
            "language": "it",
        },
    )

    rec = Recommendation.objects.get()
    assert response.status_code == 302
    assert (rec.language, rec.client.language) == ("it", "en")
    page = login(manager).get(f"/recommendations/{rec.pk}/").content.decode()
    assert "This text is in Italiano, not in the client's language (English)." in page


def test_the_template_picker_finds_a_template_by_its_italian_title(login, manager, admin, now):
    _catalog(8, admin, now)

    response = login(manager).get("/recommendations/new/?q=modello+numero+005")

    assert [v.template.key for v in response.context["versions"]] == ["template-005"]
