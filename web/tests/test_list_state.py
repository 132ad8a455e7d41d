"""Every list keeps its filters, search, sort and page size in the URL, exports what
it shows as formula-safe CSV, and reads as many queries for 100 rows a page as for 25
and for 20 rows as for 3."""

from __future__ import annotations

import csv
import io
import re

import pytest

from clients.services import client_create, contact_create
from followup.services import outbox_enqueue
from recommendations.services import recommendation_create

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


@pytest.fixture
def hostile(admin, now):
    """A client and a recommendation whose texts a spreadsheet would run as formulas."""
    client = client_create(name='=HYPERLINK("http://evil.example","x")', actor=admin, now=now)
    contact = contact_create(
        client=client,
        name="@Mallory",
        email="m@evil.example",
        is_decision_maker=True,
        actor=admin,
        now=now,
    )
    rec = recommendation_create(
        client=client,
        title="+SUM(A1:A9)",
        body="-2+3",
        severity="high",
        actor=admin,
        now=now,
        contact=contact,
        tags=["-cmd"],
    )
    return client, rec


# --- recommendations ------------------------------------------------------------------


def test_the_recommendation_list_sorts_by_the_url_and_its_headers_keep_the_filters(
    login, manager, client_a, contact_a, make_recommendations
):
    make_recommendations(4, client_a, contact_a, present=True)
    browser = login(manager)

    response = browser.get("/recommendations/?severity=&sort=severity&status=awaiting_response")
    severities = [r.severity for r in response.context["page"].object_list]
    assert severities == ["critical", "high", "medium", "low"]
    reverse = browser.get("/recommendations/?sort=-severity&status=awaiting_response")
    assert [r.severity for r in reverse.context["page"].object_list] == severities[::-1]

    html = response.content.decode()
    # The active header reverses the sort and keeps the filters; the form carries it.
    header = re.search(r'aria-sort="ascending"><a class="sort-link" href="([^"]+)"', html)
    assert header and "sort=-severity" in header.group(1)
    assert "status=awaiting_response" in header.group(1)
    assert '<input type="hidden" name="sort" value="severity">' in html
    # Following the link gives the reversed list: the URL is the whole state.
    again = browser.get("/recommendations/" + header.group(1).replace("&amp;", "&"))
    assert [r.severity for r in again.context["page"].object_list] == severities[::-1]


def test_an_unknown_sort_falls_back_to_newest_first(login, manager, client_a, make_recommendations):
    made = make_recommendations(3, client_a)
    response = login(manager).get("/recommendations/?sort=password")
    assert [r.pk for r in response.context["page"].object_list] == [r.pk for r in made[::-1]]


def test_the_page_size_is_kept_in_the_url(login, manager, client_a, make_recommendations):
    make_recommendations(30, client_a)
    response = login(manager).get("/recommendations/?per_page=25&sort=title")
    assert len(response.context["page"].object_list) == 25
    assert b'href="?per_page=25&amp;sort=title&amp;page=2"' in response.content
    assert len(login(manager).get("/recommendations/?per_page=7").context["page"].object_list) == 30


def test_the_recommendation_csv_is_what_the_list_shows_in_its_order(
    login, manager, client_a, contact_a, client_b, make_recommendations
):
    make_recommendations(3, client_a, contact_a, present=True)
    make_recommendations(2, client_b)
    browser = login(manager)
    query = f"client={client_a.pk}&sort=title&per_page=25"

    page = browser.get(f"/recommendations/?{query}")
    rows = _csv(browser.get(f"/recommendations/?{query}&format=csv"))

    assert rows[0][:6] == ["ID", "Recommendation", "Tags", "Client", "Severity", "Status"]
    assert [int(r[0]) for r in rows[1:]] == [r.pk for r in page.context["page"].object_list]
    assert {r[3] for r in rows[1:]} == {"Acme Dental"}
    assert rows[1][5] == "Awaiting response"


def test_the_csv_neutralises_cells_a_spreadsheet_would_evaluate(login, manager, hostile):
    client, _rec = hostile
    browser = login(manager)

    (_header, row) = _csv(browser.get(f"/recommendations/?client={client.pk}&format=csv"))
    assert row[1] == "'+SUM(A1:A9)"
    assert row[2] == "'-cmd"
    assert row[3] == '\'=HYPERLINK("http://evil.example","x")'
    clients = _csv(browser.get("/clients/?q=HYPERLINK&format=csv"))
    assert clients[1][0].startswith("'=HYPERLINK")
    for line in (row, clients[1]):
        assert not any(cell[:1] in ("=", "+", "-", "@") for cell in line)


def test_the_recommendation_list_and_csv_query_counts_do_not_depend_on_rows_or_page_size(
    login, manager, client_a, make_recommendations, count_queries, django_assert_num_queries
):
    make_recommendations(3, client_a)
    browser = login(manager)
    small = count_queries(lambda: browser.get("/recommendations/?per_page=25&sort=client"))
    small_csv = count_queries(
        lambda: b"".join(browser.get("/recommendations/?format=csv").streaming_content)
    )
    make_recommendations(30, client_a)

    for size in (25, 100):
        with django_assert_num_queries(small):
            browser.get(f"/recommendations/?per_page={size}&sort=client")
    with django_assert_num_queries(small_csv):
        rows = _csv(browser.get("/recommendations/?format=csv"))
    assert len(rows) == 34


# --- clients ------------------------------------------------------------------------


def test_the_client_list_searches_sorts_and_exports_by_its_url(
    login, manager, admin, client_a, client_b, contact_a, make_recommendations, now
):
    make_recommendations(2, client_a, contact_a, present=True)
    browser = login(manager)

    by_total = browser.get("/clients/?sort=-total")
    assert [r.client.name for r in by_total.context["page"].object_list] == [
        "Acme Dental",
        "Bravo Legal",
    ]
    searched = browser.get("/clients/?q=bravo&sort=-total")
    assert [r.client.name for r in searched.context["page"].object_list] == ["Bravo Legal"]
    assert b'<input type="hidden" name="sort" value="-total">' in searched.content
    rows = _csv(browser.get("/clients/?sort=-total&format=csv"))
    assert [r[0] for r in rows[1:]] == ["Acme Dental", "Bravo Legal"]
    assert rows[1][3] == "2" and rows[1][8] == "2"


def test_the_client_list_query_count_does_not_depend_on_the_page_size(
    login, manager, admin, now, make_recommendations, count_queries, django_assert_num_queries
):
    for i in range(3):
        make_recommendations(1, client_create(name=f"Studio {i}", actor=admin, now=now))
    browser = login(manager)
    expected = count_queries(lambda: browser.get("/clients/?per_page=25"))
    expected_csv = count_queries(lambda: browser.get("/clients/?format=csv"))
    for i in range(3, 30):
        make_recommendations(1, client_create(name=f"Studio {i}", actor=admin, now=now))

    shown = {}
    for size in (25, 100):
        with django_assert_num_queries(expected):
            response = browser.get(f"/clients/?per_page={size}&sort=-compliance")
        shown[size] = len(response.context["page"].object_list)
    assert shown == {25: 25, 100: 30}
    with django_assert_num_queries(expected_csv):
        rows = _csv(browser.get("/clients/?format=csv&sort=-name"))
    assert len(rows) == 31 and rows[1][0] == "Studio 9"


# --- deliveries -----------------------------------------------------------------------


def _enqueue(n, client, now, start=0):
    for i in range(start, start + n):
        outbox_enqueue(
            kind="email",
            key=f"list-test:{i}",
            payload={"to": ["a@acme-dental.example"], "subject": f"=Subject {i}", "text": "x"},
            now=now,
            client=client,
        )


def test_the_delivery_list_sorts_searches_and_exports(login, manager, client_a, client_b, now):
    _enqueue(2, client_a, now)
    _enqueue(1, client_b, now, start=5)
    browser = login(manager)

    response = browser.get("/deliveries/?q=Bravo&sort=client")
    assert [m.client.name for m in response.context["page"].object_list] == ["Bravo Legal"]
    rows = _csv(browser.get("/deliveries/?sort=client&format=csv"))
    assert [r[5] for r in rows[1:]] == ["Acme Dental", "Acme Dental", "Bravo Legal"]
    assert rows[1][3].startswith("'=Subject")


def test_the_delivery_list_query_count_does_not_depend_on_rows_or_page_size(
    login, manager, client_a, now, count_queries, django_assert_num_queries
):
    _enqueue(3, client_a, now)
    browser = login(manager)
    expected = count_queries(lambda: browser.get("/deliveries/?per_page=25&sort=-attempts"))
    _enqueue(40, client_a, now, start=10)

    for size in (25, 100):
        with django_assert_num_queries(expected):
            browser.get(f"/deliveries/?per_page={size}&sort=-attempts")
