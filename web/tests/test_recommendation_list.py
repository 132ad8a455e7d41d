import datetime as dt

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


def titles(response) -> set[str]:
    return {rec.title for rec in response.context["page"].object_list}


@pytest.fixture
def mixed(client_a, contact_a, client_b, contact_b, make_recommendations):
    """Two presented items for client A, two drafts for client B."""
    return {
        "a_presented": make_recommendations(2, client_a, contact_a, present=True),
        "b": make_recommendations(2, client_b, contact_b),
    }


def test_it_lists_every_visible_recommendation_newest_first(login, manager, mixed):
    response = login(manager).get("/recommendations/")

    assert response.status_code == 200
    assert response.context["page"].paginator.count == 4
    assert b'id="recommendations"' in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=awaiting_response", {"A0", "A1"}),
        ("status=draft", {"B0", "B1"}),
        ("severity=critical", {"A0", "B0"}),
        ("tag=batch1", {"A1", "B1"}),
        ("q=Bravo", {"B0", "B1"}),
        ("q=(Acme+Dental+1)", {"A1"}),
    ],
)
def test_it_filters_the_list(login, manager, mixed, query, expected):
    short = {
        rec.title: f"{rec.client.name[0]}{rec.title[-2]}" for recs in mixed.values() for rec in recs
    }

    response = login(manager).get(f"/recommendations/?{query}")

    assert {short[t] for t in titles(response)} == expected


def test_it_filters_by_client_and_owner(login, manager, mixed, client_b):
    owner = User.objects.get(username="owner0")
    browser = login(manager)

    by_client = browser.get(f"/recommendations/?client={client_b.pk}")
    by_owner = browser.get(f"/recommendations/?owner={owner.pk}")

    assert titles(by_client) == {r.title for r in mixed["b"]}
    assert {r.owner_id for r in by_owner.context["page"].object_list} == {owner.pk}
    assert by_owner.context["page"].paginator.count == 2


def test_it_shows_only_overdue_items_when_asked(login, manager, mixed, now, time_machine):
    time_machine.move_to(now + dt.timedelta(days=8), tick=False)

    response = login(manager).get("/recommendations/?overdue=on")

    # Presented critical (due after 7 days) is late; the high one (10 days) is not yet.
    assert titles(response) == {mixed["a_presented"][0].title}
    assert b"Overdue</span>" in response.content


def test_an_invalid_filter_is_reported_and_the_rest_still_apply(login, manager, mixed):
    response = login(manager).get("/recommendations/?status=nonsense&severity=critical")

    assert response.status_code == 200
    assert "status" in response.context["form"].errors
    assert b"Select a valid choice" in response.content
    assert len(titles(response)) == 2


def test_it_pages_through_long_lists(login, manager, client_a, make_recommendations):
    make_recommendations(55, client_a)
    browser = login(manager)

    first = browser.get("/recommendations/?severity=&page=1")
    second = browser.get("/recommendations/?severity=&page=2")

    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert b'href="?severity=&amp;page=2" rel="next"' in first.content


def test_the_list_makes_as_many_queries_for_twenty_rows_as_for_three(
    login,
    manager,
    client_a,
    contact_a,
    make_recommendations,
    count_queries,
    django_assert_num_queries,
):
    make_recommendations(3, client_a, contact_a, present=True)
    browser = login(manager)
    expected = count_queries(lambda: browser.get("/recommendations/"))
    make_recommendations(17, client_a, contact_a, present=True)

    with django_assert_num_queries(expected):
        response = browser.get("/recommendations/")
    assert len(response.context["page"].object_list) == 20


def test_an_htmx_request_gets_only_the_results(login, manager, mixed):
    response = login(manager).get("/recommendations/?status=draft", headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="results"')
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(login, manager, mixed):
    response = login(manager).get(
        "/recommendations/",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )

    assert b"<html" in response.content


def test_a_technician_lists_only_the_recommendations_of_assigned_clients(login, technician, mixed):
    response = login(technician).get("/recommendations/")

    assert titles(response) == {r.title for r in mixed["a_presented"]}
    assert b"Bravo Legal" not in response.content


def _counted_rows(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if "COUNT(" in q["sql"].upper() and '"recommendations_recommendation"' in q["sql"]
    ]


@pytest.mark.parametrize(
    "query",
    ["", "status=awaiting_response", "status=draft&status=awaiting_response&severity=critical"],
)
def test_the_total_comes_from_the_counters_not_a_count_of_every_row(
    login, manager, mixed, client_b, query
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    browser = login(manager)
    for q in (query, f"{query}&client={client_b.pk}"):
        with CaptureQueriesContext(connection) as seen:
            response = browser.get(f"/recommendations/?{q}")
        rows = response.context["page"].object_list
        shown = response.context["page"].paginator.count
        # The total is the one a COUNT would give, and no COUNT over the table was run.
        assert shown == len(rows)
        assert _counted_rows(seen.captured_queries) == []


@pytest.mark.parametrize("query", ["q=Bravo", "tag=batch1", "overdue=on"])
def test_filters_the_counters_do_not_know_count_the_matching_rows(login, manager, mixed, query):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as seen:
        response = login(manager).get(f"/recommendations/?{query}")
    assert response.context["page"].paginator.count == len(response.context["page"].object_list)
    assert len(_counted_rows(seen.captured_queries)) == 1


def test_a_technicians_total_counts_only_their_clients(login, technician, mixed):
    response = login(technician).get("/recommendations/")
    page = response.context["page"]
    assert page.paginator.count == len(page.object_list) == 2
