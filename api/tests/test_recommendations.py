"""GET/POST /api/v1/recommendations/: filters, cursor pages, scoping, creation."""

from __future__ import annotations

import pytest

from api.tests.support import errors
from ledger.models import Event, Head
from recommendations.choices import Status
from recommendations.models import Recommendation
from recommendations.services import recommendation_create

URL = "/api/v1/recommendations/"


def make(client, actor, now, title, **extra):
    fields = {"body": "Do it.", "severity": "medium", **extra}
    return recommendation_create(client=client, actor=actor, now=now, title=title, **fields)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def test_the_list_shows_newest_first_with_the_client_owner_and_contact(
    api, draft, admin, contact_a
):
    response = api(admin).get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    (item,) = body["results"]
    assert item["id"] == draft.pk
    assert item["client"] == {"id": draft.client_id, "name": "Acme Dental"}
    assert item["owner"] == {"id": admin.pk, "username": "ada", "name": "Ada"}
    assert item["contact"] == {"id": contact_a.pk, "name": "Alice Rossi", "email": contact_a.email}
    assert item["severity"] == "critical"
    assert item["status"] == "draft"
    assert item["tags"] == ["mfa"]
    assert item["overdue"] is False
    assert "body" not in item


def test_a_technician_lists_only_the_clients_they_are_assigned_to(
    api, technician, draft, client_b, admin, now
):
    make(client_b, admin, now, "Bravo's item")

    assert ids(api(technician).get(URL)) == [draft.pk]


def test_a_technician_cannot_read_a_recommendation_of_another_client(
    api, technician, client_b, admin, now
):
    rec = make(client_b, admin, now, "Bravo's item")

    response = api(technician).get(f"{URL}{rec.pk}/")

    assert response.status_code == 404
    assert errors(response) == [(None, "not_found", "No such recommendation.")]


def test_filters_combine_and_accept_several_values(api, admin, client_a, client_b, now):
    low_a = make(client_a, admin, now, "Low A", severity="low", tags=["backup"])
    high_a = make(client_a, admin, now, "High A", severity="high", tags=["mfa", "vpn"])
    high_b = make(client_b, admin, now, "High B", severity="high", owner=admin)
    client = api(admin)

    assert ids(client.get(URL, {"severity": "high"})) == [high_b.pk, high_a.pk]
    assert ids(client.get(URL, {"severity": "high,low"})) == [high_b.pk, high_a.pk, low_a.pk]
    assert ids(client.get(f"{URL}?severity=high&severity=low&client={client_a.pk}")) == [
        high_a.pk,
        low_a.pk,
    ]
    assert ids(client.get(URL, {"tag": "vpn"})) == [high_a.pk]
    assert ids(client.get(URL, {"owner": admin.pk})) == [high_b.pk]
    assert ids(client.get(URL, {"status": "draft,withdrawn"})) == [high_b.pk, high_a.pk, low_a.pk]
    assert ids(client.get(URL, {"status": "accepted"})) == []


def test_the_overdue_filter_uses_the_response_deadline(api, rec_in, admin, client_a, now):
    presented = rec_in(Status.AWAITING_RESPONSE)
    other = make(client_a, admin, now, "Still a draft")
    client = api(admin)

    assert ids(client.get(URL, {"overdue": "true"})) == []
    Recommendation.objects.filter(pk=presented.pk).update(response_due_at=now.replace(year=2025))
    assert ids(client.get(URL, {"overdue": "true"})) == [presented.pk]
    assert ids(client.get(URL, {"overdue": "false"})) == [other.pk]
    assert client.get(f"{URL}{presented.pk}/").json()["overdue"] is True


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "open"}, ("status.0", "invalid_choice", '"open" is not a valid choice.')),
        (
            {"severity": "low,urgent"},
            ("severity.1", "invalid_choice", '"urgent" is not a valid choice.'),
        ),
        ({"client": "acme"}, ("client", "invalid", "A valid integer is required.")),
        ({"overdue": "perhaps"}, ("overdue", "invalid", "Must be a valid boolean.")),
    ],
)
def test_a_bad_filter_is_a_field_error(api, admin, draft, query, expected):
    response = api(admin).get(URL, query)

    assert response.status_code == 400
    assert errors(response) == [expected]


def test_pages_follow_the_cursor_without_repeating_or_skipping(api, admin, client_a, now):
    created = [make(client_a, admin, now, f"Item {n}").pk for n in range(7)]
    client = api(admin)

    seen: list[int] = []
    page = client.get(URL, {"page_size": 3}).json()
    assert page["previous"] is None
    while True:
        seen.extend(item["id"] for item in page["results"])
        if page["next"] is None:
            break
        make(client_a, admin, now, "Added while paging")  # must not shift the pages
        page = client.get(page["next"]).json()

    assert seen == sorted(created, reverse=True)


def test_a_forged_cursor_is_refused(api, admin, draft):
    forged = "bz14JnA9MQ=="  # base64 of "o=x&p=1": the offset is not a number

    response = api(admin).get(URL, {"cursor": forged})

    assert response.status_code == 404
    assert errors(response) == [(None, "not_found", "Invalid cursor")]


def test_the_detail_has_the_text_and_every_response_in_order(api, rec_in, admin, contact_a):
    rec = rec_in(Status.ACCEPTED)

    response = api(admin).get(f"{URL}{rec.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["body"] == rec.body
    assert body["text_sha256"] == rec.text_sha256
    assert body["control_refs"] == [
        {"framework": "CIS v8", "id": "6.4"},
        {"framework": "NIST CSF 2.0", "id": "PR.AA-03"},
    ]
    (answer,) = body["responses"]
    assert answer["decision"] == "accepted"
    assert answer["planned_for"] == "2026-04-15"
    assert answer["responder"]["id"] == contact_a.pk
    assert answer["recorded_by"]["username"] == "ada"


def test_creating_from_a_template_copies_its_text(api, manager, client_a, contact_a, template_mfa):
    seq_before = Head.objects.get(client=client_a).seq

    response = api(manager).post(
        URL,
        {
            "client": client_a.pk,
            "template_version": template_mfa.pk,
            "contact": contact_a.pk,
            "owner": manager.pk,
            "external_id": "PSA-1",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"] == template_mfa.title
    assert body["severity"] == "critical"
    assert body["status"] == "draft"
    assert body["template_version"] == template_mfa.pk
    assert body["owner"]["username"] == "marco"
    assert body["external_id"] == "PSA-1"
    assert body["responses"] == []
    rec = Recommendation.objects.get(pk=body["id"])
    assert rec.created_by == manager
    event = Event.objects.get(client=client_a, seq=seq_before + 1)
    assert (event.kind, event.actor) == ("recommendation.created", "staff:marco")


def test_creating_ad_hoc_with_custom_fields(api, admin, client_a):
    response = api(admin).post(
        URL,
        {
            "client": client_a.pk,
            "title": "Replace the NAS",
            "body": "The NAS is out of support.",
            "severity": "high",
            "category": "backup",
            "tags": ["Storage", "storage", " nas "],
            "control_refs": [{"framework": "CIS v8", "id": "11.2"}],
            "custom_fields": [{"key": "budget", "type": "number", "required": True}],
            "field_values": {"budget": "1200.50"},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["tags"] == ["nas", "storage"]
    assert body["field_values"] == {"budget": "1200.5"}
    assert body["custom_fields"][0]["label"] == "Budget"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"title": "", "body": "", "severity": ""},
            [
                ("title", "invalid", "A recommendation needs a title."),
                ("body", "invalid", "A recommendation needs a body."),
                ("severity", "invalid", "Severity must be one of critical, high, medium, low."),
            ],
        ),
        (
            {"title": "x" * 201, "body": "b", "severity": "low"},
            [("title", "max_length", "Ensure this field has no more than 200 characters.")],
        ),
        (
            {"title": "t", "body": "b", "severity": "urgent"},
            [("severity", "invalid_choice", '"urgent" is not a valid choice.')],
        ),
        (
            {"title": "t", "body": "b", "severity": "low", "control_refs": [{"id": "1"}]},
            [("control_refs.0.framework", "required", "This field is required.")],
        ),
        (
            {
                "title": "t",
                "body": "b",
                "severity": "low",
                "custom_fields": [{"key": "budget", "type": "number", "required": True}],
            },
            [("field_values.budget", "invalid", "Budget is required.")],
        ),
        (
            {"title": "t", "body": "b", "severity": "low", "template_version": 999999},
            [
                (
                    "template_version",
                    "does_not_exist",
                    'Invalid pk "999999" - object does not exist.',
                )
            ],
        ),
    ],
    ids=["empty", "long-title", "bad-severity", "bad-control-ref", "missing-value", "no-template"],
)
def test_creating_with_bad_input_names_each_field_and_stores_nothing(
    api, admin, client_a, body, expected
):
    before = (Recommendation.objects.count(), Head.objects.get(client=client_a).seq)

    response = api(admin).post(URL, {"client": client_a.pk, **body}, format="json")

    assert response.status_code == 400
    assert errors(response) == expected
    assert (Recommendation.objects.count(), Head.objects.get(client=client_a).seq) == before


def test_a_technician_cannot_create_for_a_client_they_cannot_see(api, technician, client_b):
    response = api(technician).post(
        URL,
        {"client": client_b.pk, "title": "t", "body": "b", "severity": "low"},
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == [("client", "does_not_exist", f"No such client (id {client_b.pk}).")]
    assert not Recommendation.objects.exists()


def test_the_contact_must_belong_to_the_client(api, admin, client_a, contact_b):
    response = api(admin).post(
        URL,
        {
            "client": client_a.pk,
            "title": "t",
            "body": "b",
            "severity": "low",
            "contact": contact_b.pk,
        },
        format="json",
    )

    assert response.status_code == 400
    assert errors(response) == [
        ("contact", "invalid", "The responder is not a contact of this client.")
    ]
    assert not Recommendation.objects.exists()


def test_an_external_id_is_unique_per_client(api, admin, client_a, client_b, now):
    make(client_a, admin, now, "First", external_id="PSA-9")
    body = {"title": "t", "body": "b", "severity": "low", "external_id": "PSA-9"}
    client = api(admin)

    refused = client.post(URL, {"client": client_a.pk, **body}, format="json")
    other_client = client.post(URL, {"client": client_b.pk, **body}, format="json")

    assert refused.status_code == 400
    assert errors(refused) == [
        ("external_id", "unique", "This client already has a recommendation with that id.")
    ]
    assert other_client.status_code == 201


def test_an_auditor_reads_but_cannot_create(api, auditor, draft):
    client = api(auditor)

    assert ids(client.get(URL)) == [draft.pk]
    response = client.post(
        URL,
        {"client": draft.client_id, "title": "t", "body": "b", "severity": "low"},
        format="json",
    )
    assert response.status_code == 403
    assert Recommendation.objects.count() == 1
