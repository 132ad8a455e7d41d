"""The staff pages of verification, through the API: a device with its hotfixes and
its state under each rule, a client's device compliance, enrollment tokens (the token
shown once, revoking), device tags and the queue of refused reports. Each write goes
through the same service as the page (an auditor gets 403) and another client's object
is a 404, like a missing one."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.models import Event
from verification.compliance import verify_pass
from verification.models import Device, EnrollmentToken, ReviewItem
from verification.services import ReportRefused, enrollment_token_create, token_digest
from verification.tests.conftest import body_of, document
from verification.tests.test_pages_and_lists import counted
from verification.tests.test_verify_pass import GUIDS, report

pytestmark = pytest.mark.django_db


def errors(answer) -> list[tuple[str | None, str]]:
    return [(e["field"], e["message"]) for e in answer.json()["errors"]]


# --- tokens ---------------------------------------------------------------------------


def test_a_token_created_through_the_api_is_shown_once_and_signs_reports(
    api_as, manager, client_a, post
):
    api = api_as(manager)

    answer = api.post(
        "/api/v1/enrollment-tokens/",
        {"client": client_a.pk, "name": "NinjaOne, Studio D'Amico"},
        format="json",
    )

    assert answer.status_code == 201, answer.content
    assert answer["Cache-Control"] == "no-store"
    body = answer.json()
    raw = body["token"]
    token = EnrollmentToken.objects.get()
    assert raw.startswith(f"hdc1_{token.key_id}_") and token.digest == token_digest(raw)
    assert (body["client"], body["name"], body["active"]) == (
        client_a.pk,
        "NinjaOne, Studio D'Amico",
        True,
    )
    # Never again: not in the list, not in the token's own page.
    listed = api.get(f"/api/v1/enrollment-tokens/?client={client_a.pk}").content.decode()
    assert token.key_id in listed and raw not in listed
    assert raw not in api.get(f"/api/v1/enrollment-tokens/{token.pk}/").content.decode()
    assert Event.objects.filter(kind="verification.token_created").count() == 1
    # The collector signs with it.
    assert post(raw, body_of(document())).json()["outcome"] == "accepted"


def test_a_revoked_token_signs_nothing_and_cannot_be_revoked_twice(api_as, manager, client_a, post):
    api = api_as(manager)
    created = api.post(
        "/api/v1/enrollment-tokens/", {"client": client_a.pk, "name": "Datto RMM"}, format="json"
    ).json()

    answer = api.post(f"/api/v1/enrollment-tokens/{created['id']}/revoke/")

    assert answer.status_code == 200
    assert answer.json()["active"] is False and answer.json()["revoked_at"] is not None
    assert post(created["token"], body_of(document())).status_code == 401
    again = api.post(f"/api/v1/enrollment-tokens/{created['id']}/revoke/")
    assert again.status_code == 400
    assert errors(again) == [("token", "This enrollment token is already revoked.")]


def test_tokens_of_a_client_not_assigned_are_invisible_to_a_technician(
    api_as, technician, admin, client_a, client_b, now
):
    theirs, _ = enrollment_token_create(client=client_b, name="N-able", actor=admin, now=now)
    ours, _ = enrollment_token_create(client=client_a, name="NinjaOne", actor=admin, now=now)
    api = api_as(technician)

    listed = api.get(f"/api/v1/enrollment-tokens/?client={client_b.pk}").json()["results"]
    assert listed == []
    assert [t["id"] for t in api.get("/api/v1/enrollment-tokens/").json()["results"]] == [ours.pk]
    assert api.get(f"/api/v1/enrollment-tokens/{theirs.pk}/").status_code == 404
    assert api.post(f"/api/v1/enrollment-tokens/{theirs.pk}/revoke/").status_code == 404
    refused = api.post(
        "/api/v1/enrollment-tokens/", {"client": client_b.pk, "name": "Mine now"}, format="json"
    )
    assert refused.status_code == 400
    assert errors(refused)[0][0] == "client"
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and EnrollmentToken.objects.count() == 2


def test_an_auditor_may_read_tokens_but_neither_create_nor_revoke(
    api_as, auditor, admin, client_a, now
):
    token, _ = enrollment_token_create(client=client_a, name="NinjaOne", actor=admin, now=now)
    api = api_as(auditor)

    assert api.get("/api/v1/enrollment-tokens/").status_code == 200
    created = api.post(
        "/api/v1/enrollment-tokens/", {"client": client_a.pk, "name": "x"}, format="json"
    )
    assert created.status_code == 403
    assert api.post(f"/api/v1/enrollment-tokens/{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None and EnrollmentToken.objects.count() == 1


def test_a_token_name_of_spaces_is_refused_naming_the_field(api_as, manager, client_a):
    answer = api_as(manager).post(
        "/api/v1/enrollment-tokens/", {"client": client_a.pk, "name": "   "}, format="json"
    )
    assert answer.status_code == 400 and errors(answer)[0][0] == "name"
    assert not EnrollmentToken.objects.exists()


# --- devices --------------------------------------------------------------------------


def test_a_devices_tags_are_set_through_the_api_for_the_next_pass(
    api_as, manager, make_rec, client_a, now
):
    rec = make_rec("KB5073724 present on devices tagged sala-d'attesa")
    device = report(client_a, 1, 5073724, now=now, name="ACME-RECEPTION").device
    report(client_a, 2, 5072653, now=now)
    verify_pass(now=now)
    api = api_as(manager)

    answer = api.post(
        f"/api/v1/devices/{device.pk}/tags/",
        {"tags": [" Sala-D'Attesa ", "Èquipe", ""]},
        format="json",
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["tags"] == ["sala-d'attesa", "èquipe"]
    event = Event.objects.filter(kind="verification.device_tagged").get()
    assert event.data["tags"] == ["sala-d'attesa", "èquipe"]
    verify_pass(now=now + dt.timedelta(minutes=5))
    rec.refresh_from_db()
    assert rec.status == "verified"  # the untagged device without the KB is out of scope


def test_a_tag_too_long_is_refused_by_the_service_and_nothing_changes(
    api_as, manager, client_a, now
):
    device = report(client_a, 1, 5073724, now=now, tags=["laptops"]).device
    api = api_as(manager)

    too_long = api.post(f"/api/v1/devices/{device.pk}/tags/", {"tags": ["x" * 41]}, format="json")
    too_many = api.post(
        f"/api/v1/devices/{device.pk}/tags/",
        {"tags": [f"site-{n}" for n in range(21)]},
        format="json",
    )

    assert too_long.status_code == 400 and errors(too_long)[0][0] == "tags.0"
    assert too_many.status_code == 400 and errors(too_many)[0][0] == "tags"
    assert Device.objects.get(pk=device.pk).tags == ["laptops"]


def test_device_tags_of_a_client_not_assigned_are_404_and_an_auditor_is_403(
    api_as, technician, auditor, client_a, client_b, now
):
    ours = report(client_a, 1, 5073724, now=now).device
    theirs = report(client_b, 2, 5073724, now=now, name="STUDIO-BIANCHI").device

    url = "/api/v1/devices/{}/tags/"
    answer = api_as(technician).post(url.format(theirs.pk), {"tags": ["x"]}, format="json")
    assert answer.status_code == 404
    answer = api_as(auditor).post(url.format(ours.pk), {"tags": ["x"]}, format="json")
    assert answer.status_code == 403
    assert Device.objects.get(pk=ours.pk).tags == []
    assert Device.objects.get(pk=theirs.pk).tags == []


def test_a_device_shows_its_hotfixes_renames_and_rules_at_a_fixed_query_count(
    api_as, admin, make_rec, client_a, now, frozen
):
    rec = make_rec("KB5073724 present")
    make_rec("BitLocker on", key="bitlocker")
    device = report(client_a, 1, 5073724, now=now, name="ACME-RECEPTION").device
    verify_pass(now=now)
    api = api_as(admin)
    url = f"/api/v1/devices/{device.pk}/"
    few, _ = counted(api, url)
    later = now + dt.timedelta(hours=2)
    report(
        client_a,
        1,
        5073724,
        5072653,
        5074109,
        now=later,
        name="ACME-ACCOGLIENZA",
        bitlocker_os_volume="on",
    )
    verify_pass(now=later)
    many, answer = counted(api, url)

    assert few == many
    body = answer.json()
    assert body["computer_name"] == "ACME-ACCOGLIENZA" and body["stale"] is False
    assert [h["hotfix_id"] for h in body["hotfixes"]] == ["KB5072653", "KB5073724", "KB5074109"]
    assert body["hotfixes"][1]["kb"] == 5073724
    assert [(r["old_name"], r["new_name"]) for r in body["renames"]] == [
        ("ACME-RECEPTION", "ACME-ACCOGLIENZA")
    ]
    states = {c["recommendation"]: c["state"] for c in body["compliance"]}
    assert states[rec.pk] == "compliant" and len(states) == 2


def test_a_device_not_heard_from_for_the_stale_period_says_so(api_as, admin, client_a, now, frozen):
    report(client_a, 1, 5073724, now=now - dt.timedelta(days=15))
    report(client_a, 2, 5073724, now=now - dt.timedelta(days=13, hours=23))

    listed = api_as(admin).get(f"/api/v1/devices/?client={client_a.pk}").json()["results"]

    assert {d["computer_name"]: d["stale"] for d in listed} == {
        "ACME-WS-01": True,
        "ACME-WS-02": False,
    }


def test_a_clients_device_compliance_is_the_pages_score(
    api_as, admin, technician, make_rec, client_a, client_b, now
):
    make_rec("KB5073724 present")
    report(client_a, 1, 5073724, now=now)
    report(client_a, 2, 5072653, now=now)
    report(client_a, 3, 5072653, now=now)
    verify_pass(now=now)

    answer = api_as(admin).get(f"/api/v1/clients/{client_a.pk}/device-compliance/")

    assert answer.json() == {
        "client": client_a.pk,
        "compliant": 1,
        "evaluated": 3,
        "percent": 33.3,
    }
    page = api_as(admin).get(f"/api/v1/clients/{client_b.pk}/device-compliance/").json()
    assert page["percent"] is None and page["evaluated"] == 0
    theirs = api_as(technician).get(f"/api/v1/clients/{client_b.pk}/device-compliance/")
    assert theirs.status_code == 404


# --- refused reports ------------------------------------------------------------------


def refused_at(client, now) -> ReviewItem:
    """A MachineGuid enrolled for one client, claimed by ``client``: refused and kept."""
    with pytest.raises(ReportRefused):
        report(client, 1, 5073724, now=now, name="CLONE-OF-RECEPTION")
    return ReviewItem.objects.filter(client=client).latest("id")


def test_the_review_queue_lists_refused_reports_and_closes_one_with_a_note(
    api_as, manager, client_a, client_b, now
):
    report(client_b, 1, 5073724, now=now, name="STUDIO-BIANCHI")
    item = refused_at(client_a, now)
    api = api_as(manager)

    queue = api.get(f"/api/v1/device-reviews/?client={client_a.pk}").json()["results"]
    assert [(i["id"], i["reason"], i["computer_name"]) for i in queue] == [
        (item.pk, "other_client", "CLONE-OF-RECEPTION")
    ]
    detail = api.get(f"/api/v1/device-reviews/{item.pk}/").json()
    assert detail["document"]["hotfixes"] == ["KB5073724"]

    answer = api.post(
        f"/api/v1/device-reviews/{item.pk}/resolve/",
        {"note": "Immagine clonata senza sysprep: reinstallata da Nicolò."},
        format="json",
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["resolved_at"] is not None
    event = Event.objects.filter(kind="verification.review_resolved").get()
    assert event.data["note"] == "Immagine clonata senza sysprep: reinstallata da Nicolò."
    assert api.get("/api/v1/device-reviews/").json()["results"] == []
    closed = api.get("/api/v1/device-reviews/?all=true").json()["results"]
    assert [i["id"] for i in closed] == [item.pk]
    again = api.post(f"/api/v1/device-reviews/{item.pk}/resolve/", {"note": "x"}, format="json")
    assert again.status_code == 400
    assert errors(again) == [("item", "This refused report was already reviewed.")]


def test_closing_a_refused_report_needs_a_note(api_as, manager, client_a, client_b, now):
    report(client_b, 1, 5073724, now=now, name="STUDIO-BIANCHI")
    item = refused_at(client_a, now)

    answer = api_as(manager).post(
        f"/api/v1/device-reviews/{item.pk}/resolve/", {"note": "  "}, format="json"
    )

    assert answer.status_code == 400 and errors(answer)[0][0] == "note"
    item.refresh_from_db()
    assert item.resolved_at is None


def test_refused_reports_of_a_client_not_assigned_are_404_and_an_auditor_is_403(
    api_as, technician, auditor, client_a, client_b, now
):
    report(client_a, 1, 5073724, now=now)
    theirs = refused_at(client_b, now)
    url = f"/api/v1/device-reviews/{theirs.pk}/"
    tech = api_as(technician)

    assert tech.get(url).status_code == 404
    assert tech.post(url + "resolve/", {"note": "ok"}, format="json").status_code == 404
    assert tech.get(f"/api/v1/device-reviews/?client={client_b.pk}").json()["results"] == []
    assert api_as(auditor).post(url + "resolve/", {"note": "ok"}, format="json").status_code == 403
    theirs.refresh_from_db()
    assert theirs.resolved_at is None
    assert GUIDS[1] == theirs.machine_guid


def test_the_service_itself_refuses_too_many_or_too_long_tags(manager, client_a, now):
    from verification.services import VerificationError, device_tags_set

    device = report(client_a, 1, 5073724, now=now).device

    with pytest.raises(VerificationError) as many:
        device_tags_set(
            device=device, tags=[f"site-{n}" for n in range(21)], actor=manager, now=now
        )
    with pytest.raises(VerificationError) as long:
        device_tags_set(device=device, tags=["sala-d'attesa-" + "è" * 30], actor=manager, now=now)

    assert (many.value.field, many.value.message) == ("tags", "A device has at most 20 tags.")
    assert long.value.field == "tags" and "longer than 40 characters" in long.value.message
    assert Device.objects.get(pk=device.pk).tags == []
