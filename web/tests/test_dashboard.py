import datetime as dt

import pytest

from recommendations.services import (
    recommendation_create,
    recommendation_present,
    response_record,
)

pytestmark = pytest.mark.django_db


def test_it_sends_an_anonymous_visitor_to_the_login_page(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_counts_recommendations_by_status_and_severity(login, manager, presented, draft):
    response = login(manager).get("/")

    assert response.status_code == 200
    rows = {row["status"].value: row for row in response.context["rows"]}
    assert dict(rows["awaiting_response"]["cells"])["critical"] == 1
    assert rows["awaiting_response"]["total"] == 1
    assert rows["draft"]["total"] == 0
    assert response.context["totals"]["open"] == 1
    assert b'href="/recommendations/?status=awaiting_response&amp;severity=critical">1<' in (
        response.content
    )


def test_it_lists_overdue_items_oldest_due_first(
    login, manager, client_a, contact_a, template_mfa, admin, now, time_machine
):
    # Presented on the same day, a critical item is due after 7 days and a low one
    # after 30: the critical one has been late longer.
    made = {}
    for severity in ("low", "critical"):
        rec = recommendation_create(
            client=client_a,
            template_version=template_mfa,
            severity=severity,
            actor=admin,
            now=now,
            contact=contact_a,
        )
        made[severity] = recommendation_present(recommendation=rec, actor=admin, now=now)
    time_machine.move_to(now + dt.timedelta(days=40), tick=False)

    response = login(manager).get("/")

    assert [r.pk for r in response.context["overdue"]] == [made["critical"].pk, made["low"].pk]
    assert response.context["overdue_more"] is False
    assert b'id="overdue"' in response.content


def test_it_says_when_nothing_is_overdue(login, manager, presented):
    response = login(manager).get("/")

    assert response.context["overdue"] == []
    assert b"Nothing is overdue." in response.content


def test_it_shows_recently_decided_recommendations(login, manager, presented, admin, now):
    response_record(
        recommendation=presented,
        decision="rejected",
        channel="phone",
        now=now,
        recorded_by=admin,
        responder_name="Dr. Rossi",
        justification="Remote access is used twice a year.",
    )

    response = login(manager).get("/")

    assert [r.pk for r in response.context["recent"]] == [presented.pk]
    assert b'id="recently-decided"' in response.content


def test_a_technician_counts_only_the_clients_assigned_to_them(
    login, technician, client_b, contact_b, make_recommendations, presented
):
    make_recommendations(3, client_b, contact_b, present=True)

    response = login(technician).get("/")

    assert response.context["totals"]["all"] == 1
    assert b"Bravo Legal" not in response.content


def test_the_navigation_names_the_user_and_links_every_section(login, manager):
    html = login(manager).get("/").content.decode()

    for href in ("/clients/", "/recommendations/", "/deliveries/", "/api/v1/docs/"):
        assert f'href="{href}"' in html
    assert "Marco" in html
    assert 'action="/accounts/logout/"' in html
    assert 'aria-current="page">Dashboard' in html


def test_an_auditor_is_not_offered_a_new_recommendation(login, auditor):
    html = login(auditor).get("/").content.decode()

    assert "New recommendation" not in html


def test_an_accepted_item_past_its_planned_date_is_listed_by_that_date(
    login, manager, presented, client_a, contact_a, make_recommendations, admin, now, time_machine
):
    response_record(
        recommendation=presented,
        decision="accepted",
        channel="staff",
        now=now,
        recorded_by=admin,
        responder=contact_a,
        planned_for=dt.date(2026, 3, 5),
    )
    # Presented critical on 2 March: its answer was due on 9 March, after the
    # accepted item's planned date of 5 March.
    (awaiting,) = make_recommendations(1, client_a, contact_a, present=True)
    time_machine.move_to(now + dt.timedelta(days=20), tick=False)

    response = login(manager).get("/")

    assert [r.pk for r in response.context["overdue"]] == [presented.pk, awaiting.pk]


def test_the_dashboard_makes_as_many_queries_for_twenty_overdue_items_as_for_three(
    login,
    manager,
    client_a,
    contact_a,
    make_recommendations,
    now,
    time_machine,
    count_queries,
    django_assert_num_queries,
):
    make_recommendations(3, client_a, contact_a, present=True)
    time_machine.move_to(now + dt.timedelta(days=40), tick=False)
    browser = login(manager)
    browser.get("/")  # the weekly trend is cached from the first view on
    expected = count_queries(lambda: browser.get("/"))
    make_recommendations(17, client_a, contact_a, present=True)

    with django_assert_num_queries(expected):
        response = browser.get("/")
    assert len(response.context["overdue"]) == 20
