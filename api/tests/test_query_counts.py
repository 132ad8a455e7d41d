"""List endpoints cost the same number of queries for 3 rows as for 30 (no N+1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.services import template_create, template_revise
from clients.services import client_create, contact_create
from recommendations.services import recommendation_create


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.json()
    return len(ctx.captured_queries)


def add_recommendations(ctx, start: int, stop: int) -> None:
    for n in range(start, stop):
        recommendation_create(
            client=ctx["client_a"],
            actor=ctx["admin"],
            now=ctx["now"],
            title=f"Item {n}",
            body="Body.",
            severity="low",
            tags=["t"],
            owner=ctx["admin"],
            contact=ctx["contact_a"],
        )


def add_clients(ctx, start: int, stop: int) -> None:
    for n in range(start, stop):
        client_create(
            name=f"Client {n:02}",
            domains=[f"c{n}.example", f"mail.c{n}.example"],
            account_owner=ctx["admin"],
            actor=ctx["admin"],
            now=ctx["now"],
        )


def add_contacts(ctx, start: int, stop: int) -> None:
    for n in range(start, stop):
        contact_create(
            client=ctx["client_a"],
            name=f"Person {n}",
            email=f"p{n}@acme-dental.example",
            actor=ctx["admin"],
            now=ctx["now"],
        )


def add_templates(ctx, start: int, stop: int) -> None:
    for n in range(start, stop):
        version = template_create(
            key=f"t-{n}",
            title=f"T {n}",
            body="b",
            category="network",
            default_severity="low",
            now=ctx["now"],
            actor=ctx["admin"],
        )
        template_revise(template=version.template, now=ctx["now"], title="v2", body="b")


# (persona, url, how to add rows, query budget). The budget
# counts the token lookup; a list that did one query per row would exceed it at 30.
CASES = {
    "recommendations": ("admin", "/api/v1/recommendations/", add_recommendations, 3),
    "recommendations-technician": (
        "technician",
        "/api/v1/recommendations/",
        add_recommendations,
        3,
    ),
    "recommendations-filtered": (
        "technician",
        "/api/v1/recommendations/?status=draft&severity=low,high&tag=t&overdue=false",
        add_recommendations,
        3,
    ),
    "clients": ("admin", "/api/v1/clients/", add_clients, 3),
    "contacts": ("technician", "/api/v1/contacts/", add_contacts, 3),
    "templates": ("auditor", "/api/v1/templates/", add_templates, 3),
    "ledger-events": ("technician", "/api/v1/clients/{client_a}/ledger/events/", add_contacts, 3),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_list_costs_the_same_for_three_rows_as_for_thirty(
    case, api, request, admin, client_a, contact_a, now, django_assert_max_num_queries
):
    persona, url, add, budget = CASES[case]
    ctx: dict[str, object] = {
        "admin": admin,
        "client_a": client_a,
        "contact_a": contact_a,
        "now": now,
    }
    client = api(request.getfixturevalue(persona))
    url = url.format(client_a=client_a.pk)
    add_rows: Callable[[dict, int, int], None] = add
    client.get(url)  # the first call stamps the token's last_used_at

    add_rows(ctx, 0, 3)
    few = queries_for(client, url)
    add_rows(ctx, 3, 30)
    with django_assert_max_num_queries(budget):
        many = queries_for(client, url)

    assert len(client.get(url).json()["results"]) >= 30
    assert many == few
