"""The staff account pages: list, invite, role, deactivate, assignments, and the
set-password page an invitation links to."""

from __future__ import annotations

import re

import pytest

from accounts.models import AuditEvent, User
from accounts.services import Msg, password_link_token
from clients.services import Msg as ClientMsg
from followup.models import OutboxMessage

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Quercia-di-Vallombrosa-2026"


# --- the list ------------------------------------------------------------------------


def test_the_staff_list_shows_every_account_with_its_assignments(login, auditor, technician):
    response = login(auditor).get("/staff/")

    assert response.status_code == 200
    rows = {u.username: u for u in response.context["users"]}
    assert set(rows) == {"ada", "otto", "tess"}
    assert rows["tess"].assigned_count == 1
    # An auditor reads; only an admin gets the invitation button.
    assert b"/staff/invite/" not in response.content


def test_a_technician_has_no_staff_pages(login, technician, admin):
    browser = login(technician)

    assert browser.get("/staff/").status_code == 404
    assert browser.get(f"/staff/{admin.pk}/").status_code == 404
    assert browser.post(f"/staff/{admin.pk}/role/", {"role": "auditor"}).status_code == 404
    assert User.objects.get(pk=admin.pk).role == "admin"


def test_the_staff_list_makes_as_many_queries_for_twenty_accounts_as_for_three(
    login, admin, client_a, client_b, count_queries, django_assert_num_queries
):
    def add(start, stop):
        for i in range(start, stop):
            user = User.objects.create_user(username=f"tech{i}", role="technician")
            client_a.staff.add(user)
            client_b.staff.add(user)

    add(0, 2)
    browser = login(admin)
    expected = count_queries(lambda: browser.get("/staff/"))
    add(2, 20)

    with django_assert_num_queries(expected):
        response = browser.get("/staff/")
    assert len(response.context["users"]) == 21


# --- invitations ------------------------------------------------------------------------


def test_an_admin_invites_a_colleague_who_then_sets_a_password(login, admin, client):
    response = login(admin).post(
        "/staff/invite/",
        {
            "email": "nina.ferri@msp.example",
            "first_name": "Nina",
            "last_name": "Ferri",
            "role": "technician",
        },
    )

    nina = User.objects.get(email="nina.ferri@msp.example")
    assert response.status_code == 302 and response["Location"] == f"/staff/{nina.pk}/"
    (message,) = OutboxMessage.objects.all()
    path = re.search(r"https?://[^/]+(/staff/welcome/[^\s]+/)", message.payload["text"]).group(1)

    client.logout()
    assert client.get(path).status_code == 200
    refused = client.post(path, {"password": NEW_PASSWORD, "password_again": "something else"})
    assert refused.status_code == 400
    assert Msg.PASSWORD_MISMATCH in refused.content.decode()
    done = client.post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/login/"
    nina.refresh_from_db()
    assert nina.check_password(NEW_PASSWORD)
    # The link works once.
    spent = client.get(path)
    assert spent.status_code == 404
    assert b"not valid any more" in spent.content


def test_an_invitation_for_a_taken_address_is_refused_with_the_input_kept(login, admin, technician):
    response = login(admin).post(
        "/staff/invite/",
        {"email": "TESS@msp.example", "first_name": "Tessa", "last_name": "", "role": "auditor"},
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["email"]
    assert 'value="TESS@msp.example"' in response.content.decode()
    assert 'value="Tessa"' in response.content.decode()
    assert User.objects.count() == 2 and not OutboxMessage.objects.exists()


@pytest.mark.parametrize("who", ["manager", "auditor"])
def test_only_an_admin_may_invite(login, who, request):
    browser = login(request.getfixturevalue(who))

    assert browser.get("/staff/invite/").status_code == 403
    response = browser.post("/staff/invite/", {"email": "x@msp.example", "role": "admin"})
    assert response.status_code == 403
    assert not User.objects.filter(email="x@msp.example").exists()


def test_a_pending_invitation_can_be_sent_again(login, admin, now):
    from followup.services.invitations import staff_invite

    nina = staff_invite(email="nina@msp.example", actor=admin, now=now)
    browser = login(admin)

    page = browser.get(f"/staff/{nina.pk}/")
    assert b"Send a new set-password link" in page.content
    response = browser.post(f"/staff/{nina.pk}/resend/")

    assert response.status_code == 302
    assert OutboxMessage.objects.count() == 2


def test_a_garbled_set_password_link_is_a_404(client, admin):
    uidb64, _ = password_link_token(admin)

    assert client.get(f"/staff/welcome/{uidb64}/nope-nope/").status_code == 404


# --- role, deactivation ---------------------------------------------------------------


def test_an_admin_changes_a_role(login, admin, technician):
    response = login(admin).post(f"/staff/{technician.pk}/role/", {"role": "account_manager"})

    assert response.status_code == 302
    assert User.objects.get(pk=technician.pk).role == "account_manager"


def test_the_last_admin_cannot_demote_themselves_on_the_page(login, admin):
    response = login(admin).post(f"/staff/{admin.pk}/role/", {"role": "auditor"})

    assert response.status_code == 400
    assert response.context["role_form"].errors == {"role": [Msg.LAST_ADMIN]}
    assert User.objects.get(pk=admin.pk).role == "admin"
    assert not AuditEvent.objects.exists()


def test_an_admin_cannot_deactivate_themselves(login, admin):
    response = login(admin).post(f"/staff/{admin.pk}/deactivate/", {"reason": "Testing"})

    assert response.status_code == 400
    assert Msg.NOT_YOURSELF in response.content.decode()
    assert User.objects.get(pk=admin.pk).is_active


def test_an_admin_deactivates_and_reactivates_an_account(login, admin, technician):
    browser = login(admin)

    assert (
        browser.post(f"/staff/{technician.pk}/deactivate/", {"reason": "Left"}).status_code == 302
    )
    assert not User.objects.get(pk=technician.pk).is_active
    assert browser.post(f"/staff/{technician.pk}/reactivate/").status_code == 302
    assert User.objects.get(pk=technician.pk).is_active
    assert [e.kind for e in AuditEvent.objects.order_by("id")] == [
        "user.deactivated",
        "user.reactivated",
    ]


def test_a_manager_may_not_change_roles(login, manager, technician):
    response = login(manager).post(f"/staff/{technician.pk}/role/", {"role": "admin"})

    assert response.status_code == 403
    assert User.objects.get(pk=technician.pk).role == "technician"


def test_an_unknown_action_is_a_404(login, admin, technician):
    assert login(admin).post(f"/staff/{technician.pk}/promote/").status_code == 404


# --- assignments from the account's page --------------------------------------------------


def test_an_admin_assigns_a_technician_to_another_client_from_their_page(
    login, admin, technician, client_b, client
):
    response = login(admin).post(f"/staff/{technician.pk}/assign/", {"client": client_b.pk})

    assert response.status_code == 302
    client.force_login(technician)
    assert client.get(f"/clients/{client_b.pk}/").status_code == 200

    client.force_login(admin)
    response = client.post(f"/staff/{technician.pk}/unassign/", {"client": client_b.pk})
    assert response.status_code == 302
    client.force_login(technician)
    assert client.get(f"/clients/{client_b.pk}/").status_code == 404


def test_assigning_an_auditor_is_refused_on_the_page(login, admin, auditor, client_a):
    response = login(admin).post(f"/staff/{auditor.pk}/assign/", {"client": client_a.pk})

    assert response.status_code == 400
    assert ClientMsg.NOT_ASSIGNABLE in response.content.decode()
    assert not client_a.staff.filter(pk=auditor.pk).exists()


def test_an_auditor_cannot_assign(login, auditor, technician, client_b):
    response = login(auditor).post(f"/staff/{technician.pk}/assign/", {"client": client_b.pk})

    assert response.status_code == 403
    assert not client_b.staff.filter(pk=technician.pk).exists()


def test_the_set_password_page_is_clean_for_the_content_security_policy(client, admin, now):
    from web.tests.test_page_hygiene import inline_problems

    nina = User.objects.create(username="nina", email="nina@msp.example", role="technician")
    nina.set_unusable_password()
    nina.save()
    uidb64, token = password_link_token(nina)

    response = client.get(f"/staff/welcome/{uidb64}/{token}/")

    assert response.status_code == 200
    assert inline_problems(response.content.decode()) == []
    assert 'autocomplete="new-password"' in response.content.decode()
