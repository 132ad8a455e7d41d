"""/api/v1/templates/: every staff account reads the catalog; admins add to it."""

from __future__ import annotations

import pytest

from api.tests.support import errors
from catalog.models import Template
from catalog.services import template_revise

URL = "/api/v1/templates/"

NEW = {
    "key": "edr-everywhere",
    "title": "Deploy EDR on every endpoint",
    "body": "Install and monitor an EDR agent on all workstations and servers.",
    "category": "endpoint",
    "default_severity": "high",
    "control_refs": [{"framework": "CIS v8", "id": "10.1"}],
    "custom_fields": [{"key": "seats", "type": "number"}],
    "tags": ["EDR"],
}


def test_the_list_shows_each_template_with_its_latest_version(
    api, technician, template_mfa, admin, now
):
    v2 = template_revise(
        template=template_mfa.template,
        now=now,
        title="Require MFA everywhere",
        body="All.",
        actor=admin,
    )

    response = api(technician).get(URL)

    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["key"] == "mfa-remote-access"
    assert item["default_severity"] == "critical"
    assert item["latest_version"] == {"id": v2.pk, "number": 2, "title": "Require MFA everywhere"}


def test_the_detail_lists_every_version_newest_first(api, auditor, template_mfa, admin, now):
    template_revise(template=template_mfa.template, now=now, title="v2", body="b", actor=admin)

    response = api(auditor).get(f"{URL}{template_mfa.template_id}/")

    assert response.status_code == 200
    versions = response.json()["versions"]
    assert [v["number"] for v in versions] == [2, 1]
    assert versions[1]["control_refs"][0] == {"framework": "CIS v8", "id": "6.4"}


def test_an_unknown_template_is_not_found(api, admin):
    response = api(admin).get(f"{URL}424242/")

    assert response.status_code == 404
    assert errors(response)[0][1] == "not_found"


def test_an_admin_adds_a_template(api, admin):
    response = api(admin).post(URL, NEW, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tags"] == ["edr"]
    (version,) = body["versions"]
    assert version["number"] == 1
    assert version["custom_fields"] == [
        {"key": "seats", "label": "Seats", "type": "number", "required": False, "choices": []}
    ]
    assert body["latest_version"]["id"] == version["id"]


def test_an_account_manager_adds_a_template_too(api, manager):
    response = api(manager).post(URL, NEW, format="json")

    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("persona", ["technician", "auditor"])
def test_technicians_and_auditors_do_not_add_templates(api, request, persona):
    response = api(request.getfixturevalue(persona)).post(URL, NEW, format="json")

    assert response.status_code == 403
    expected = {
        "technician": "Only admins and account managers may change the catalog.",
        "auditor": "This account may read but not change anything.",
    }[persona]
    assert errors(response) == [(None, "permission_denied", expected)]
    assert not Template.objects.exists()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"key": "mfa-remote-access"},
            [("key", "unique", "Template with this Key already exists.")],
        ),
        (
            {"key": "Not a slug!"},
            [
                (
                    "key",
                    "invalid",
                    'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.',
                )
            ],
        ),
        ({"category": "magic"}, [("category", "invalid_choice", '"magic" is not a valid choice.')]),
        ({"title": ""}, [("title", "blank", "This field may not be blank.")]),
        (
            {"custom_fields": [{"key": "Seats", "type": "number"}]},
            [
                (
                    "custom_fields",
                    "invalid",
                    "custom field 1: key must be lower-case letters, digits and _ (got 'Seats').",
                )
            ],
        ),
        (
            {"control_refs": [{"framework": "ISO 27001", "id": "A.5"}]},
            [("control_refs.0.framework", "invalid_choice", '"ISO 27001" is not a valid choice.')],
        ),
    ],
    ids=["taken-key", "bad-key", "bad-category", "no-title", "bad-field-key", "bad-framework"],
)
def test_a_bad_template_is_refused_field_by_field(api, admin, template_mfa, change, expected):
    before = Template.objects.count()

    response = api(admin).post(URL, {**NEW, **change}, format="json")

    assert response.status_code == 400
    assert errors(response) == expected
    assert Template.objects.count() == before
