"""Staff actions on the devices pages: the collector script, enrollment tokens shown
once and revoked, device tags, and the per-client device compliance score. Each is
role-checked (an auditor gets 403) and scoped (another client's object is a 404)."""

from __future__ import annotations

import pytest

from ledger.models import Event
from verification.compliance import verify_pass
from verification.models import Device, EnrollmentToken
from verification.services import enrollment_token_create, token_digest
from verification.tests.test_verify_pass import report

pytestmark = pytest.mark.django_db


def test_the_collector_script_downloads_for_a_client_the_user_sees(client_a, manager, client):
    client.force_login(manager)
    answer = client.get(f"/verification/clients/{client_a.pk}/collector.ps1")
    assert answer.status_code == 200
    body = b"".join(answer.streaming_content).decode("utf-8")
    assert "[switch]$DryRun" in body
    assert 'filename="heeded-collector.ps1"' in answer["Content-Disposition"]


def test_the_collector_of_a_client_not_assigned_is_404(client_a, client_b, technician, client):
    client.force_login(technician)
    assert client.get(f"/verification/clients/{client_b.pk}/collector.ps1").status_code == 404


def test_a_new_token_is_shown_once_and_stored_hashed(client_a, manager, client):
    client.force_login(manager)
    answer = client.post(f"/verification/clients/{client_a.pk}/tokens/", {"name": "Datto RMM"})

    assert answer.status_code == 200
    assert "no-cache" in answer["Cache-Control"] or "no-store" in answer["Cache-Control"]
    raw = answer.context["raw"]
    assert raw in answer.content.decode()
    token = EnrollmentToken.objects.get()
    assert token.digest == token_digest(raw) and raw not in token.digest
    assert token.name == "Datto RMM" and token.client == client_a
    # The devices page lists it by key id, never the raw token again.
    page = client.get(f"/verification/clients/{client_a.pk}/devices/").content.decode()
    assert token.key_id in page and raw not in page


def test_a_token_without_a_name_is_refused_naming_the_field(client_a, manager, client):
    client.force_login(manager)
    answer = client.post(f"/verification/clients/{client_a.pk}/tokens/", {"name": "  "})
    assert answer.status_code == 302
    assert [str(m) for m in answer.wsgi_request._messages][-1].startswith("name: ")
    assert not EnrollmentToken.objects.exists()


def test_an_auditor_may_neither_create_nor_revoke_tokens(client_a, admin, auditor, client, now):
    token, _ = enrollment_token_create(client=client_a, name="NinjaOne", actor=admin, now=now)
    client.force_login(auditor)
    assert (
        client.post(f"/verification/clients/{client_a.pk}/tokens/", {"name": "x"}).status_code
        == 403
    )
    assert client.post(f"/verification/tokens/{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None and EnrollmentToken.objects.count() == 1


def test_a_token_is_revoked_once_and_another_clients_is_404(
    client_a, client_b, admin, technician, client, now
):
    ours, _ = enrollment_token_create(client=client_a, name="NinjaOne", actor=admin, now=now)
    theirs, _ = enrollment_token_create(client=client_b, name="N-able", actor=admin, now=now)
    client.force_login(technician)

    assert client.post(f"/verification/tokens/{theirs.pk}/revoke/").status_code == 404
    assert client.post(f"/verification/tokens/{ours.pk}/revoke/").status_code == 302
    again = client.post(f"/verification/tokens/{ours.pk}/revoke/")
    assert [str(m) for m in again.wsgi_request._messages][-1].startswith("token: ")
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.revoked_at is not None and theirs.revoked_at is None
    assert Event.objects.filter(kind="verification.token_revoked").count() == 1


def test_device_tags_are_set_from_the_device_page(client_a, client_b, manager, client, now):
    device = report(client_a, 1, 5073724, now=now).device
    other = report(client_b, 2, 5073724, now=now).device
    client.force_login(manager)

    answer = client.post(
        f"/verification/devices/{device.pk}/tags/", {"tags": "Server, Sala D'Attesa,"}
    )

    assert answer.status_code == 302
    device.refresh_from_db()
    assert device.tags == ["sala d'attesa", "server"]
    too_long = client.post(f"/verification/devices/{device.pk}/tags/", {"tags": "x" * 41})
    assert [str(m) for m in too_long.wsgi_request._messages][-1].startswith("tags: ")
    device.refresh_from_db()
    assert device.tags == ["sala d'attesa", "server"]
    assert other.pk != device.pk


def test_device_tags_of_a_client_not_assigned_are_404_and_an_auditor_is_403(
    client_a, client_b, technician, auditor, client, now
):
    theirs = report(client_b, 2, 5073724, now=now).device
    ours = report(client_a, 1, 5073724, now=now).device
    client.force_login(technician)
    assert client.post(f"/verification/devices/{theirs.pk}/tags/", {"tags": "x"}).status_code == 404
    client.force_login(auditor)
    assert client.post(f"/verification/devices/{ours.pk}/tags/", {"tags": "x"}).status_code == 403
    assert Device.objects.get(pk=ours.pk).tags == []


def test_the_devices_page_shows_the_clients_device_compliance_score(
    make_rec, client_a, manager, client, now
):
    make_rec("KB5073724 present")
    report(client_a, 1, 5073724, now=now)
    report(client_a, 2, 5072653, now=now)
    report(client_a, 3, 5073724, now=now)
    verify_pass(now=now)
    client.force_login(manager)

    page = client.get(f"/verification/clients/{client_a.pk}/devices/")

    score = page.context["score"]
    assert (score.compliant, score.evaluated, str(score.percent)) == (2, 3, "66.7")
    assert "66.7%" in page.content.decode()


def _review_item(client, name="STUDIO-D'AMICO"):
    from django.utils import timezone

    from verification.models import ReviewItem

    return ReviewItem.objects.create(
        client=client,
        machine_guid="0a1b2c3d-0000-4000-8000-0000000000aa",
        computer_name=name,
        reason="name_clash",
        detail="Two machines share one MachineGuid.",
        document={"device": {"computer_name": name}},
        received_at=timezone.now(),
    )


def test_a_refused_report_is_closed_with_what_was_decided(client_a, manager, client):
    item = _review_item(client_a)
    client.force_login(manager)
    assert (
        "What was decided"
        in client.get(f"/verification/clients/{client_a.pk}/devices/").content.decode()
    )

    answer = client.post(f"/verification/reviews/{item.pk}/resolve/", {"note": "Re-imaged."})

    assert answer.status_code == 302
    item.refresh_from_db()
    assert item.resolved_at is not None
    event = Event.objects.get(kind="verification.review_resolved")
    assert event.data["note"] == "Re-imaged." and event.data["name"] == "STUDIO-D'AMICO"
    again = client.post(f"/verification/reviews/{item.pk}/resolve/", {"note": "Twice."})
    assert [str(m) for m in again.wsgi_request._messages][-1].startswith("item: ")
    assert Event.objects.filter(kind="verification.review_resolved").count() == 1


def test_a_review_needs_a_note_an_auditor_is_403_and_another_clients_is_404(
    client_a, client_b, technician, auditor, client
):
    ours, theirs = _review_item(client_a), _review_item(client_b, "BRAVO-WS")
    client.force_login(technician)
    empty = client.post(f"/verification/reviews/{ours.pk}/resolve/", {"note": " "})
    assert [str(m) for m in empty.wsgi_request._messages][-1].startswith("note: ")
    assert (
        client.post(f"/verification/reviews/{theirs.pk}/resolve/", {"note": "x"}).status_code == 404
    )
    client.force_login(auditor)
    assert (
        client.post(f"/verification/reviews/{ours.pk}/resolve/", {"note": "x"}).status_code == 403
    )
    ours.refresh_from_db()
    assert ours.resolved_at is None
