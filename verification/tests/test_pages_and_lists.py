"""Device pages, the recommendation page's devices, and the API lists: scoped to what
the user may see (404 otherwise) and the same number of queries for 2 rows as for 8."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from verification.compliance import verify_pass
from verification.models import Device
from verification.tests.test_verify_pass import GUIDS, report

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_as(now) -> Callable:
    from rest_framework.test import APIClient

    from accounts.tokens import token_create

    def make(user):
        api = APIClient()
        _, raw = token_create(user=user, name="tests", now=now)
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return api

    return make


def counted(client, url: str) -> tuple[int, object]:
    client.get(url)  # the first request of a session or token writes its last use
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), response


def test_the_device_list_page_shows_the_clients_devices_at_a_fixed_query_count(
    client, admin, client_a, now
):
    client.force_login(admin)
    url = f"/verification/clients/{client_a.pk}/devices/"
    for n in range(2):
        report(client_a, n, 5073724, now=now, name=f"STUDIO-D'AMICO-{n}")
    few, _ = counted(client, url)
    for n in range(2, 5):
        report(client_a, n, 5073724, 5072653, now=now, name=f"ÉQUIPE-{n}")
    many, response = counted(client, url)

    assert few == many
    page = response.content.decode()
    assert "STUDIO-D&#x27;AMICO-0" in page and "ÉQUIPE-4" in page


def test_the_device_page_lists_hotfixes_and_recommendations(client, admin, client_a, now):
    client.force_login(admin)
    result = report(client_a, 1, 5073724, now=now, name="ACME-RECEPTION")

    response = client.get(f"/verification/devices/{result.device.pk}/")

    assert response.status_code == 200
    assert "KB5073724" in response.content.decode()


def test_a_technician_gets_404_for_another_clients_device_and_list(
    client, technician, client_b, now
):
    result = report(client_b, 1, 5073724, now=now, name="STUDIO-BIANCHI")
    client.force_login(technician)

    assert client.get(f"/verification/devices/{result.device.pk}/").status_code == 404
    assert client.get(f"/verification/clients/{client_b.pk}/devices/").status_code == 404


def test_the_recommendation_page_shows_devices_by_state(client, admin, make_rec, client_a, now):
    rec = make_rec("KB5073724 present")
    report(client_a, 1, 5073724, now=now, name="ACME-RECEPTION")
    report(client_a, 2, 5072653, now=now, name="STUDIO-D'AMICO")
    verify_pass(now=now)
    client.force_login(admin)

    page = client.get(f"/recommendations/{rec.pk}/").content.decode()

    assert "1 compliant" in page and "1 not compliant" in page and "0 stale" in page
    assert "KB5073724 missing" in page


def test_the_api_gives_a_recommendations_devices_at_a_fixed_query_count(
    api_as, admin, make_rec, client_a, now
):
    rec = make_rec("KB5073724 present")
    api = api_as(admin)
    url = f"/api/v1/recommendations/{rec.pk}/devices/"
    report(client_a, 1, 5073724, now=now)
    verify_pass(now=now)
    few, _ = counted(api, url)
    later = now + dt.timedelta(hours=1)
    for n in range(2, 5):
        report(client_a, n, 5072653, now=later)
    verify_pass(now=later)
    many, response = counted(api, url)

    assert few == many
    body = response.json()
    assert body["summary"]["in_scope"] == 4 and body["summary"]["not_compliant"] == 3
    assert [d["state"] for d in body["devices"]].count("compliant") == 1


def test_another_clients_recommendation_devices_are_a_404(
    api_as, technician, admin, client_b, contact_b, now
):
    from recommendations.services import recommendation_create

    rec = recommendation_create(
        client=client_b,
        actor=admin,
        now=now,
        title="Patch",
        body="Patch.",
        severity="low",
        owner=admin,
        contact=contact_b,
    )
    assert api_as(technician).get(f"/api/v1/recommendations/{rec.pk}/devices/").status_code == 404


def test_the_api_lists_only_visible_devices_at_a_fixed_query_count(
    api_as, technician, client_a, client_b, now
):
    api = api_as(technician)
    report(client_b, 4, 5073724, now=now, name="STUDIO-BIANCHI")
    for n in range(2):
        report(client_a, n, 5073724, now=now)
    few, _ = counted(api, "/api/v1/devices/")
    report(client_a, 2, 5073724, now=now)
    report(client_a, 3, 5073724, now=now)
    many, response = counted(api, "/api/v1/devices/")

    assert few == many
    names = [d["computer_name"] for d in response.json()["results"]]
    assert sorted(names) == ["ACME-WS-00", "ACME-WS-01", "ACME-WS-02", "ACME-WS-03"]
    mine = response.json()["results"][0]["id"]
    assert api.get(f"/api/v1/devices/{mine}/").status_code == 200
    hidden = Device.objects.get(machine_guid=GUIDS[4])
    assert api.get(f"/api/v1/devices/{hidden.pk}/").status_code == 404
