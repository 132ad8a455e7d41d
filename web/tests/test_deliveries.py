import datetime as dt

import pytest

from followup.delivery import deliver_due
from followup.services import outbox_enqueue

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken(client_a, now):
    """An e-mail without a recipient, which the worker gives up on at the first try,
    delivered in the same run as anything queued before it."""
    message = outbox_enqueue(
        kind="email",
        key="web-test:broken",
        payload={"to": [], "subject": "Broken", "text": "x", "message_id": "<x@test>"},
        now=now + dt.timedelta(minutes=5),
        client=client_a,
    )
    deliver_due(now=now + dt.timedelta(minutes=5), worker="web-test")
    message.refresh_from_db()
    return message


def test_it_lists_messages_newest_first_with_attempts_and_last_error(
    login, manager, presented, broken
):
    response = login(manager).get("/deliveries/")

    rows = list(response.context["page"].object_list)
    assert [m.pk for m in rows] == [broken.pk, rows[1].pk]
    assert rows[1].recommendation_id == presented.pk
    html = response.content.decode()
    assert broken.status == "failed" and broken.attempts == 1
    assert broken.last_error and broken.last_error[:40] in html
    assert "Gave up" in html and "Sent" in html
    assert "E-mail to alice@acme-dental.example" in html


def test_it_filters_by_status(login, manager, presented, broken):
    browser = login(manager)

    failed = browser.get("/deliveries/?status=failed")
    sent = browser.get("/deliveries/?status=sent")
    pending = browser.get("/deliveries/?status=pending")
    nonsense = browser.get("/deliveries/?status=lost")

    assert [m.pk for m in failed.context["page"].object_list] == [broken.pk]
    assert [m.recommendation_id for m in sent.context["page"].object_list] == [presented.pk]
    assert pending.context["page"].paginator.count == 0
    assert b"No message matches these filters." in pending.content
    assert nonsense.status_code == 200
    assert "status" in nonsense.context["form"].errors
    assert nonsense.context["page"].paginator.count == 2


def test_a_technician_sees_only_the_messages_of_assigned_clients(
    login, technician, presented, client_b, contact_b, make_recommendations
):
    make_recommendations(2, client_b, contact_b, present=True)

    response = login(technician).get("/deliveries/")

    assert {m.client_id for m in response.context["page"].object_list} == {presented.client_id}
    assert b"bob@bravo-legal.example" not in response.content


def test_the_outbox_makes_as_many_queries_for_twenty_messages_as_for_three(
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
    expected = count_queries(lambda: browser.get("/deliveries/"))
    make_recommendations(17, client_a, contact_a, present=True)

    with django_assert_num_queries(expected):
        response = browser.get("/deliveries/")
    assert len(response.context["page"].object_list) == 20


def test_an_htmx_request_gets_only_the_results(login, manager, presented):
    response = login(manager).get("/deliveries/?status=pending", headers={"HX-Request": "true"})

    assert b"<html" not in response.content
    assert b'id="results"' in response.content
