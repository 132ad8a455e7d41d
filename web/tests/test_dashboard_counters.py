"""The dashboard at a glance: open risk by reason, severity and age, what is due
today or in the next 14 days, my follow-ups, per-client adoption and compliance, and
the charts — all from the counters and bounded index reads."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from clients.services import client_create
from recommendations.models import Recommendation
from recommendations.tests.helpers import respond

pytestmark = pytest.mark.django_db


def _cells(response, key: str, label: str) -> dict[str, int]:
    for row in response.context[key]:
        if row.get("reason") == label:
            return {sev.value: n for sev, n in row["cells"]}
    raise AssertionError(label)


def test_open_risk_items_are_counted_by_reason_and_severity(
    login, manager, client_a, contact_a, admin, make_recommendations, now
):
    recs = make_recommendations(4, client_a, contact_a, present=True)  # critical..low
    respond(recs[0], "rejected", user=admin, contact=contact_a, now=now)
    respond(recs[1], "deferred", user=admin, contact=contact_a, now=now)
    respond(recs[2], "accepted", user=admin, contact=contact_a, now=now)

    response = login(manager).get("/")

    assert _cells(response, "risk_rows", "rejected")["critical"] == 1
    assert _cells(response, "risk_rows", "deferred")["high"] == 1
    assert _cells(response, "risk_rows", "accepted_not_applied")["medium"] == 1
    assert response.context["totals"]["open_risk"] == 3
    assert response.context["totals"]["awaiting"] == 1
    # "Accepted, not applied" links to both of its statuses.
    assert b"status=accepted&amp;status=in_progress&amp;severity=medium" in response.content


@pytest.mark.parametrize("who", ["manager", "technician"])
def test_open_risk_items_are_bucketed_by_days_since_presented(
    who, request, login, client_a, contact_a, admin, make_recommendations, now, time_machine
):
    old, _young = make_recommendations(2, client_a, contact_a, present=True)
    respond(old, "rejected", user=admin, contact=contact_a, now=now)
    time_machine.move_to(now + dt.timedelta(days=40), tick=False)
    later = now + dt.timedelta(days=40)
    (fresh,) = make_recommendations(1, client_a, contact_a)
    from recommendations.services import recommendation_present

    recommendation_present(recommendation=fresh, actor=admin, now=later)
    respond(fresh, "deferred", user=admin, contact=contact_a, now=later)

    response = login(request.getfixturevalue(who)).get("/")

    ages = {row["severity"].value: row["cells"] for row in response.context["age_rows"]}
    assert response.context["age_labels"] == ["0-30", "30-90", "90-180", "180+"]
    # Both critical: the deferred one presented today, the rejected one 40 days ago;
    # the awaiting (high) one is not a risk item.
    assert ages["critical"] == [1, 1, 0, 0]
    assert ages["high"] == [0, 0, 0, 0]
    assert sum(sum(cells) for cells in ages.values()) == 2


def test_it_lists_what_is_due_today_and_what_expires_in_fourteen_days(
    login, manager, client_a, contact_a, admin, make_recommendations, now, time_machine
):
    soon, later, due = make_recommendations(3, client_a, contact_a, present=True)
    due.refresh_from_db()
    today = due.next_action_at.astimezone(dt.UTC).date()
    respond(
        soon,
        "accepted",
        user=admin,
        contact=contact_a,
        now=now,
        planned_for=today + dt.timedelta(days=5),
    )
    respond(
        later,
        "deferred",
        user=admin,
        contact=contact_a,
        now=now,
        deferred_until=today + dt.timedelta(days=20),
    )
    time_machine.move_to(due.next_action_at, tick=False)

    response = login(manager).get("/")

    assert [r.pk for r in response.context["due_today"]] == [due.pk]
    expiring = [r.pk for r in response.context["expiring"]]
    assert soon.pk in expiring and later.pk not in expiring
    assert b'id="due-today-list"' in response.content


def test_my_follow_ups_are_the_signed_in_owners_items_next_action_first(
    login, manager, admin, client_a, contact_a, make_recommendations
):
    recs = make_recommendations(8, client_a, contact_a, present=True)
    mine = [r for r in recs if r.owner_id == admin.pk]

    response = login(admin).get("/")

    assert {r.pk for r in response.context["mine"]} == {r.pk for r in mine}
    firsts = [r.next_action_at for r in response.context["mine"]]
    assert firsts == sorted(firsts)
    assert login(manager).get("/").context["mine"] == []


def test_clients_are_ranked_by_adoption_or_compliance_either_way(
    login, manager, admin, client_a, contact_a, client_b, contact_b, make_recommendations, now
):
    (a,) = make_recommendations(1, client_a, contact_a, present=True)
    (b,) = make_recommendations(1, client_b, contact_b, present=True)
    respond(a, "accepted", user=admin, contact=contact_a, now=now)
    respond(b, "rejected", user=admin, contact=contact_b, now=now)
    browser = login(manager)

    ascending = browser.get("/?clients=adoption")
    descending = browser.get("/?clients=-adoption")

    names = [r.client.name for r in ascending.context["client_scores"]]
    assert names == ["Bravo Legal", "Acme Dental"]
    assert [r.client.name for r in descending.context["client_scores"]] == names[::-1]
    assert [str(r.adoption) for r in descending.context["client_scores"]] == ["100.0", "0.0"]
    # The header link reverses the order and keeps the parameter's name.
    assert b'href="?clients=adoption"' in descending.content


def test_the_charts_are_server_drawn_svg_readable_without_javascript(
    login, manager, client_a, contact_a, make_recommendations
):
    make_recommendations(3, client_a, contact_a, present=True)

    html = login(manager).get("/").content.decode()
    client_html = login(manager).get(f"/clients/{client_a.pk}/").content.decode()

    for page in (html, client_html):
        for chart in ("chart-status-severity", "chart-risk-trend"):
            figure = re.search(rf'<figure[^>]*id="{chart}".*?</figure>', page, re.S)
            assert figure, chart
            assert '<svg xmlns="http://www.w3.org/2000/svg"' in figure.group(0)
            assert 'role="img"' in figure.group(0) and "<title>" in figure.group(0)
            assert "<script" not in figure.group(0)


def test_the_dashboard_reads_as_many_queries_for_twenty_clients_as_for_two(
    login,
    manager,
    admin,
    client_a,
    contact_a,
    make_recommendations,
    now,
    count_queries,
    django_assert_num_queries,
):
    make_recommendations(3, client_a, contact_a, present=True)
    browser = login(manager)
    browser.get("/")
    expected = count_queries(lambda: browser.get("/"))
    for i in range(18):
        client = client_create(name=f"D'Angelo Società {i}", actor=admin, now=now)
        make_recommendations(2, client, present=False)

    with django_assert_num_queries(expected):
        response = browser.get("/")
    assert response.context["client_count"] == 19


def test_the_numbers_follow_the_counters_not_a_count(login, manager, presented):
    # A row changed behind the services' back is not seen until the counters are
    # rebuilt: the dashboard never counts the recommendations themselves.
    Recommendation.objects.filter(pk=presented.pk).update(severity="low")

    before = login(manager).get("/")
    from recommendations import tallies

    tallies.rebuild()
    after = login(manager).get("/")

    assert dict(before.context["rows"][1]["cells"])["critical"] == 1
    assert dict(after.context["rows"][1]["cells"])["low"] == 1


def test_the_database_sums_give_the_figures_the_client_page_computes(
    manager, admin, client_a, contact_a, client_b, contact_b, make_recommendations, now
):
    from recommendations.selectors import tally_rows_for
    from web.dashboard import client_scores, score_of

    a = make_recommendations(8, client_a, contact_a, present=True)
    b = make_recommendations(5, client_b, contact_b, present=True)
    # One of each client stays awaiting; the others are decided every way.
    decisions = (["accepted", "rejected", "deferred", "accepted"] * 3)[:11]
    for rec, decision in zip(a[:7] + b[:4], decisions, strict=True):
        respond(rec, decision, user=admin, contact=contact_a if rec in a else contact_b, now=now)

    listed = {row.client.pk: row for row in client_scores(manager)}
    for client in (client_a, client_b):
        counts = {(s, sev): n for _, s, sev, n in tally_rows_for(manager, client_id=client.pk)}
        single = score_of(client, counts)
        row = listed[client.pk]
        assert (row.total, row.open, row.open_risk, row.adoption, row.compliance) == (
            single.total,
            single.open,
            single.open_risk,
            single.adoption,
            single.compliance,
        )
