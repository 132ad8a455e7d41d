"""The recommendation workflows of the staff UI: one template for many clients,
presenting many, editing a draft, owner and point of contact, ledger timelines."""

from __future__ import annotations

import pytest

from catalog.services import template_create
from clients.services import client_create, contact_create
from followup.models import OutboxMessage
from ledger.models import Event
from recommendations.lifecycle import Msg
from recommendations.models import Recommendation
from recommendations.services import recommendation_edit, recommendation_set_owner

pytestmark = pytest.mark.django_db


def reloaded(rec) -> Recommendation:
    return Recommendation.objects.get(pk=rec.pk)


def stored() -> tuple[int, int, int]:
    return Recommendation.objects.count(), Event.objects.count(), OutboxMessage.objects.count()


@pytest.fixture
def client_c(admin, now):
    return client_create(
        name="D'Angelo Società Agricola",
        domains=["dangelo.example"],
        actor=admin,
        now=now,
        industry="Agriculture",
        language="it",
    )


# --- one template, many clients -------------------------------------------------------


def test_the_apply_page_lists_only_clients_the_user_may_see(
    login, technician, client_a, client_b, template_mfa
):
    html = login(technician).get(f"/recommendations/apply/?template={template_mfa.pk}")
    assert html.status_code == 200
    text = html.content.decode()
    assert f'value="{client_a.pk}"' in text
    assert "Bravo Legal" not in text


def test_the_client_filter_narrows_the_checkboxes(login, manager, client_a, client_c, template_mfa):
    response = login(manager).get(f"/recommendations/apply/?template={template_mfa.pk}&q=agri")
    assert [c.name for c in response.context["clients"]] == [client_c.name]


def test_tick_all_shown_ticks_every_client_the_filter_shows(
    login, manager, client_a, client_b, client_c, template_mfa
):
    url = f"/recommendations/apply/?template={template_mfa.pk}&q=a&all=1"
    response = login(manager).get(url)
    shown = {str(c.pk) for c in response.context["clients"]}
    assert response.context["chosen"] == shown and len(shown) == 3
    assert response.content.decode().count(" checked") >= 3


def test_applying_a_template_creates_one_draft_per_client_and_lists_them(
    login, manager, client_a, client_b, client_c, template_mfa
):
    browser = login(manager)
    response = browser.post(
        f"/recommendations/apply/?template={template_mfa.pk}",
        {"clients": [client_a.pk, client_c.pk], "owner_mode": "me"},
    )
    assert response.status_code == 302
    made = list(Recommendation.objects.order_by("client__name"))
    assert [(r.client, r.owner, r.status) for r in made] == [
        (client_a, manager, "draft"),
        (client_c, manager, "draft"),
    ]
    result = browser.get(response["Location"])
    assert [r.pk for r in result.context["recommendations"]] == [r.pk for r in made]
    assert "Created 2 recommendations." in result.content.decode()


def test_a_refused_application_keeps_the_ticks_and_stores_nothing(
    login, manager, draft, client_a, client_b, template_mfa
):
    before = stored()
    response = login(manager).post(
        f"/recommendations/apply/?template={template_mfa.pk}",
        {"clients": [client_a.pk, client_b.pk], "owner_mode": "me", "present": "on"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["clients"] == [
        Msg.ALREADY_OPEN.format(client="Acme Dental", pk=draft.pk)
    ]
    assert response.context["chosen"] == {str(client_a.pk), str(client_b.pk)}
    assert "checked" in response.content.decode()
    assert stored() == before


def test_a_chosen_owner_mode_needs_the_staff_member(login, manager, client_a, template_mfa):
    before = stored()
    response = login(manager).post(
        f"/recommendations/apply/?template={template_mfa.pk}",
        {"clients": [client_a.pk], "owner_mode": "chosen", "owner": ""},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["owner"] == [
        "Choose the staff member who owns the follow-up."
    ]
    assert stored() == before


def test_a_client_the_technician_cannot_see_is_not_a_valid_choice(
    login, technician, client_a, client_b, template_mfa
):
    before = stored()
    response = login(technician).post(
        f"/recommendations/apply/?template={template_mfa.pk}",
        {"clients": [client_a.pk, client_b.pk], "owner_mode": "me"},
    )
    assert response.status_code == 400
    assert "clients" in response.context["form"].errors
    assert stored() == before


def test_an_auditor_cannot_open_the_apply_page(login, auditor, template_mfa):
    assert (
        login(auditor).get(f"/recommendations/apply/?template={template_mfa.pk}").status_code == 403
    )


def test_the_apply_page_query_count_does_not_grow_with_clients(
    login, manager, admin, now, template_mfa, count_queries, django_assert_num_queries
):
    for i in range(3):
        client_create(name=f"Studio {i}", domains=[f"s{i}.example"], actor=admin, now=now)
    browser = login(manager)
    url = f"/recommendations/apply/?template={template_mfa.pk}"
    expected = count_queries(lambda: browser.get(url))
    for i in range(3, 20):
        client_create(name=f"Studio {i}", domains=[f"s{i}.example"], actor=admin, now=now)
    with django_assert_num_queries(expected):
        response = browser.get(url)
    assert len(response.context["clients"]) == 20


def test_presenting_the_created_drafts_of_many_clients(
    login, manager, client_a, client_b, contact_a, contact_b, template_mfa
):
    browser = login(manager)
    done = browser.post(
        f"/recommendations/apply/?template={template_mfa.pk}",
        {"clients": [client_a.pk, client_b.pk], "owner_mode": "nobody"},
    )
    ids = list(Recommendation.objects.values_list("pk", flat=True))
    response = browser.post(
        "/recommendations/present/", {"recommendation": ids, "next": done["Location"]}
    )
    assert response.status_code == 302 and response["Location"] == done["Location"]
    assert set(Recommendation.objects.values_list("status", flat=True)) == {"awaiting_response"}
    assert sorted(m.payload["to"][0] for m in OutboxMessage.objects.all()) == [
        contact_a.email,
        contact_b.email,
    ]


def test_presenting_many_is_all_or_nothing(
    login, manager, client_a, client_b, contact_a, template_mfa
):
    browser = login(manager)
    browser.post(
        f"/recommendations/apply/?template={template_mfa.pk}",
        {"clients": [client_a.pk, client_b.pk], "owner_mode": "nobody"},
    )
    ids = list(Recommendation.objects.values_list("pk", flat=True))
    before = stored()
    response = browser.post("/recommendations/present/", {"recommendation": ids}, follow=True)
    assert f"Bravo Legal: {Msg.NO_DECISION_MAKERS}" in response.content.decode()
    assert stored() == before


# --- editing a draft ------------------------------------------------------------------


def test_editing_a_draft_from_its_page(login, manager, draft):
    browser = login(manager)
    assert 'id="edit-draft"' in browser.get(f"/recommendations/{draft.pk}/").content.decode()
    form = browser.get(f"/recommendations/{draft.pk}/edit/").context["form"]
    data = {**form.initial, "title": "MFA for the D'Angelo Società VPN", "severity": "high"}
    response = browser.post(f"/recommendations/{draft.pk}/edit/", data)
    assert response.status_code == 302
    rec = reloaded(draft)
    assert (rec.title, rec.severity) == ("MFA for the D'Angelo Società VPN", "high")
    event = Event.objects.filter(recommendation_id=rec.pk).order_by("-seq").first()
    assert event.kind == "recommendation.edited"
    assert event.data["changed"] == ["title", "severity"]
    timeline = browser.get(f"/recommendations/{draft.pk}/").content.decode()
    assert "Draft edited" in timeline and "title, severity" in timeline


def test_a_bad_edit_keeps_the_input_and_stores_nothing(login, manager, draft, snapshot):
    before = snapshot(draft)
    response = login(manager).post(
        f"/recommendations/{draft.pk}/edit/",
        {"title": "", "body": "Kept text of D'Angelo", "severity": "high"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["title"] == ["A recommendation needs a title."]
    assert "Kept text of D&#x27;Angelo" in response.content.decode()
    assert snapshot(draft) == before


def test_a_presented_recommendation_cannot_be_edited(login, manager, presented, snapshot):
    browser = login(manager)
    page = browser.get(f"/recommendations/{presented.pk}/edit/")
    assert 'id="not-draft"' in page.content.decode()
    assert (
        'id="edit-draft"' not in browser.get(f"/recommendations/{presented.pk}/").content.decode()
    )
    before = snapshot(presented)
    response = browser.post(
        f"/recommendations/{presented.pk}/edit/",
        {"title": "New", "body": "New body", "severity": "low"},
    )
    assert response.status_code == 409
    assert response.context["form"].non_field_errors() == [Msg.NOT_DRAFT]
    assert snapshot(presented) == before


def test_editing_another_clients_draft_is_404(
    login, technician, client_b, contact_b, template_mfa, admin, now
):
    from recommendations.services import recommendation_create

    rec = recommendation_create(
        client=client_b, template_version=template_mfa, actor=admin, now=now
    )
    assert login(technician).get(f"/recommendations/{rec.pk}/edit/").status_code == 404


# --- owner and point of contact ----------------------------------------------------------


def test_changing_the_owner_on_the_page_is_a_ledger_event(login, manager, presented):
    response = login(manager).post(f"/recommendations/{presented.pk}/owner/", {"owner": manager.pk})
    assert response.status_code == 302
    assert reloaded(presented).owner == manager
    event = Event.objects.filter(recommendation_id=presented.pk).order_by("-seq").first()
    assert (event.kind, event.data) == (
        "recommendation.owner_changed",
        {"old": "ada", "new": "marco"},
    )


def test_an_auditor_as_owner_is_refused_on_the_page(login, manager, auditor, presented, snapshot):
    before = snapshot(presented)
    response = login(manager).post(f"/recommendations/{presented.pk}/owner/", {"owner": auditor.pk})
    assert response.status_code == 400
    form = next(p["form"] for p in response.context["panels"] if p["action"].slug == "owner")
    assert form.errors["owner"] == [Msg.OWNER_NOT_STAFF]
    assert snapshot(presented) == before


def test_changing_the_point_of_contact_on_the_page(login, manager, presented, admin, now):
    chiara = contact_create(
        client=presented.client,
        name="Chiara D'Angelo",
        email="chiara@acme-dental.example",
        actor=admin,
        now=now,
    )
    response = login(manager).post(
        f"/recommendations/{presented.pk}/contact/", {"contact": chiara.pk}
    )
    assert response.status_code == 302
    assert reloaded(presented).contact == chiara
    event = Event.objects.filter(recommendation_id=presented.pk).order_by("-seq").first()
    assert event.kind == "recommendation.contact_changed"
    assert event.data["new"] == "Chiara D'Angelo <chiara@acme-dental.example>"


def test_a_contact_of_another_client_is_refused_on_the_page(
    login, manager, presented, contact_b, snapshot
):
    before = snapshot(presented)
    response = login(manager).post(
        f"/recommendations/{presented.pk}/contact/", {"contact": contact_b.pk}
    )
    assert response.status_code == 400
    form = next(p["form"] for p in response.context["panels"] if p["action"].slug == "contact")
    assert form.errors["contact"] == [Msg.CONTACT_OTHER_CLIENT]
    assert snapshot(presented) == before


def test_a_contact_the_technician_cannot_see_is_refused_without_saying_whose(
    login, technician, presented, contact_b, snapshot
):
    before = snapshot(presented)
    response = login(technician).post(
        f"/recommendations/{presented.pk}/contact/", {"contact": contact_b.pk}
    )
    assert response.status_code == 400
    form = next(p["form"] for p in response.context["panels"] if p["action"].slug == "contact")
    assert form.errors["contact"] == ["Choose a contact of a client you can see."]
    assert snapshot(presented) == before


def test_the_contact_choices_are_only_this_clients(login, manager, presented, contact_a, contact_b):
    response = login(manager).get(f"/recommendations/{presented.pk}/")
    form = next(p["form"] for p in response.context["panels"] if p["action"].slug == "contact")
    assert [value for value, _ in form.fields["contact"].choices] == ["", str(contact_a.pk)]


# --- withdraw, start work, mark implemented (the existing actions) ---------------------------


def test_a_withdrawn_recommendation_offers_no_reassignment(login, manager, presented):
    browser = login(manager)
    browser.post(f"/recommendations/{presented.pk}/withdraw/", {"reason": "Superseded by SSO."})
    html = browser.get(f"/recommendations/{presented.pk}/").content.decode()
    assert 'id="action-owner"' not in html and 'id="action-contact"' not in html


# --- timelines -------------------------------------------------------------------------------


def _churn(rec, admin, manager, now, times: int) -> None:
    """``times`` owner changes, each one more ledger event."""
    for i in range(times):
        recommendation_set_owner(
            recommendation=rec, owner=manager if i % 2 == 0 else admin, actor=admin, now=now
        )


def test_the_recommendation_timeline_pages_newest_first(login, manager, admin, draft, now):
    _churn(draft, admin, manager, now, 60)
    browser = login(manager)
    first = browser.get(f"/recommendations/{draft.pk}/timeline/")
    events = first.context["events"]
    assert len(events) == 50 and events[0].seq > events[-1].seq
    older = browser.get(f"/recommendations/{draft.pk}/timeline/{first.context['older']}")
    assert len(older.context["events"]) == 11  # 1 created + 60 changes - 50
    assert older.context["older"] is None


def test_the_timeline_query_count_does_not_grow_with_events(
    login, manager, admin, draft, now, count_queries, django_assert_num_queries
):
    recommendation_edit(recommendation=draft, actor=admin, now=now, title="MFA everywhere")
    browser = login(manager)
    rec_url = f"/recommendations/{draft.pk}/timeline/"
    client_url = f"/clients/{draft.client_id}/timeline/"
    expected_rec = count_queries(lambda: browser.get(rec_url))
    expected_client = count_queries(lambda: browser.get(client_url))
    _churn(draft, admin, manager, now, 40)
    with django_assert_num_queries(expected_rec):
        browser.get(rec_url)
    with django_assert_num_queries(expected_client):
        response = browser.get(client_url)
    assert len(response.context["events"]) == Event.objects.filter(client=draft.client).count()
    assert len(response.context["events"]) > 40
    assert "Follow-up owner changed" in response.content.decode()
    assert "MFA everywhere" in response.content.decode()


def test_another_clients_timeline_is_404(login, technician, client_b, draft):
    browser = login(technician)
    assert browser.get(f"/clients/{client_b.pk}/timeline/").status_code == 404
    assert browser.get(f"/clients/{draft.client_id}/timeline/").status_code == 200


def test_templates_are_offered_from_the_new_recommendation_page(login, manager, admin, now):
    template_create(
        key="offsite-backup",
        title="Keep an immutable off-site backup",
        body="Copy nightly backups off site.",
        category="backup",
        default_severity="high",
        now=now,
        actor=admin,
    )
    browser = login(manager)
    assert 'id="apply-to-many"' in browser.get("/recommendations/new/").content.decode()
    pick = browser.get("/recommendations/apply/")
    assert "Keep an immutable off-site backup" in pick.content.decode()


def test_the_result_page_query_count_does_not_grow_with_rows(
    login, manager, admin, now, template_mfa, count_queries, django_assert_num_queries
):
    from recommendations.services import recommendations_apply_template

    clients = [
        client_create(name=f"Studio {i}", domains=[f"s{i}.example"], actor=admin, now=now)
        for i in range(12)
    ]
    made = recommendations_apply_template(
        template_version=template_mfa, clients=clients, actor=admin, now=now, owner=admin
    )
    browser = login(manager)
    few = "/recommendations/applied/?" + "&".join(f"id={r.pk}" for r in made[:2])
    many = "/recommendations/applied/?" + "&".join(f"id={r.pk}" for r in made)
    expected = count_queries(lambda: browser.get(few))
    with django_assert_num_queries(expected):
        response = browser.get(many)
    assert len(response.context["recommendations"]) == 12
