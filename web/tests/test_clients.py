import datetime as dt

import pytest

from clients.services import client_create, contact_create
from ledger.models import Head

pytestmark = pytest.mark.django_db


def test_the_client_list_counts_open_and_overdue_items_per_client(
    login, manager, client_a, contact_a, client_b, make_recommendations, time_machine, now
):
    make_recommendations(2, client_a, contact_a, present=True)
    make_recommendations(1, client_a, contact_a)
    time_machine.move_to(now + dt.timedelta(days=8), tick=False)

    response = login(manager).get("/clients/")

    assert response.status_code == 200
    rows = {r.client.name: r for r in response.context["page"].object_list}
    # Both presented items are critical or high: due after 7 or 10 days.
    assert (rows["Acme Dental"].open, rows["Acme Dental"].overdue) == (2, 1)
    assert rows["Acme Dental"].total == 3
    assert (rows["Bravo Legal"].open, rows["Bravo Legal"].overdue) == (0, 0)
    assert b'href="/recommendations/?client=%d&amp;overdue=on">1<' % client_a.pk in (
        response.content
    )


def test_the_client_list_makes_as_many_queries_for_twenty_clients_as_for_three(
    login, manager, admin, now, make_recommendations, count_queries, django_assert_num_queries
):
    def add_clients(start, stop):
        for i in range(start, stop):
            client = client_create(name=f"Client {i}", actor=admin, now=now, account_owner=admin)
            make_recommendations(1, client)

    add_clients(0, 3)
    browser = login(manager)
    expected = count_queries(lambda: browser.get("/clients/"))
    add_clients(3, 20)

    with django_assert_num_queries(expected):
        response = browser.get("/clients/")
    assert len(response.context["page"].object_list) == 20


def test_a_technician_lists_only_the_clients_assigned_to_them(login, technician, client_b):
    response = login(technician).get("/clients/")

    assert [r.client.name for r in response.context["page"].object_list] == ["Acme Dental"]
    assert b"Bravo Legal" not in response.content


def test_the_client_page_shows_contacts_domains_recommendations_and_the_ledger_head(
    login, manager, client_a, presented, admin, now
):
    contact_create(
        client=client_a,
        name="Bruno Verdi",
        email="bruno@acme-dental.example",
        job_title="Office IT",
        actor=admin,
        now=now,
    )
    head = Head.objects.get(client=client_a)

    response = login(manager).get(f"/clients/{client_a.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Alice Rossi" in html and "Bruno Verdi" in html and "Decision maker" in html
    assert "acme-dental.example" in html
    assert 'id="status-awaiting_response"' in html
    assert presented.title in html
    assert f"<dd>{head.seq}</dd>" in html
    assert head.hash in html


def test_a_technician_gets_404_for_a_client_not_assigned_to_them(login, technician, client_b):
    assert login(technician).get(f"/clients/{client_b.pk}/").status_code == 404


def test_an_unknown_client_is_404(login, manager):
    assert login(manager).get("/clients/999999/").status_code == 404


def test_an_auditor_sees_a_client_but_is_not_offered_a_new_recommendation(login, auditor, client_a):
    response = login(auditor).get(f"/clients/{client_a.pk}/")

    assert response.status_code == 200
    assert b"New recommendation" not in response.content


def test_the_client_page_makes_as_many_queries_for_twenty_items_as_for_three(
    login,
    manager,
    client_a,
    contact_a,
    make_recommendations,
    count_queries,
    django_assert_num_queries,
):
    # The page reads the newest rows of each status that has any, one range read per
    # status: the same statuses with more rows cost the same queries.
    make_recommendations(2, client_a, contact_a, present=True)
    make_recommendations(1, client_a, contact_a)
    browser = login(manager)
    url = f"/clients/{client_a.pk}/"
    expected = count_queries(lambda: browser.get(url))
    make_recommendations(8, client_a, contact_a, present=True)
    make_recommendations(9, client_a, contact_a)

    with django_assert_num_queries(expected):
        response = browser.get(url)
    assert response.context["total"] == 20


def test_each_status_the_client_has_adds_at_most_one_query_to_its_page(
    login, manager, admin, client_a, contact_a, make_recommendations, now, count_queries
):
    from recommendations.services import recommendation_withdraw

    make_recommendations(1, client_a, contact_a, present=True)
    browser = login(manager)
    url = f"/clients/{client_a.pk}/"
    one_status = count_queries(lambda: browser.get(url))
    make_recommendations(5, client_a, contact_a)
    for rec in make_recommendations(5, client_a, contact_a):
        recommendation_withdraw(recommendation=rec, actor=admin, now=now, reason="Superseded.")

    assert count_queries(lambda: browser.get(url)) == one_status + 2
