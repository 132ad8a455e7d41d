"""Administration in a real browser: an admin invites a technician, who chooses a
password from the e-mailed link; the admin assigns them to one client; the technician
then opens that client and gets a 404 on another. Technician isolation, set up
without the shell or the demo."""

from __future__ import annotations

import re

import pytest

from followup.models import OutboxMessage
from web.tests.test_browser import CHROMIUM, PASSWORD, log_in, shoot
from web.tests.test_browser import page as page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (make test installs it)",
    ),
]


def test_an_admin_invites_and_assigns_a_technician_who_sees_only_that_client(
    page,
    admin,
    client_a,
    client_b,
):
    from playwright.sync_api import expect

    log_in(page, "ada")
    page.click("#nav-more summary")
    page.click("#nav-more >> text=Staff")
    expect(page.locator("h1")).to_have_text("Staff")
    page.click("text=Invite someone")
    page.fill("#id_email", "bruno.esposito@msp.example")
    page.fill("#id_first_name", "Bruno")
    page.fill("#id_last_name", "Esposito")
    page.select_option("#id_role", "technician")
    shoot(page, "staff-invite")
    page.click("#invite-form button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Bruno Esposito")
    expect(page.locator(".alert-success")).to_contain_text("bruno.esposito@msp.example")
    shoot(page, "staff-detail")

    # The client's settings page: assign Bruno to Acme Dental only.
    page.goto(f"/clients/{client_a.pk}/")
    page.click("#client-settings-link")
    page.select_option("#assign-form select", label="Bruno Esposito · Technician")
    page.click("#assign-form button[type=submit]")
    expect(page.locator("#assigned-staff")).to_contain_text("Bruno Esposito")
    shoot(page, "client-settings")

    # Bruno follows the link of his invitation and chooses a password.
    (message,) = OutboxMessage.objects.filter(payload__to=["bruno.esposito@msp.example"])
    path = re.search(r"https?://[^/]+(/staff/welcome/\S+/)", message.payload["text"]).group(1)
    page.context.clear_cookies()
    page.goto(path)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_password_again", PASSWORD)
    shoot(page, "set-password")
    page.click("#welcome-form button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("Your password is set")

    log_in(page, "bruno.esposito@msp.example")
    page.click("nav >> text=Clients")
    expect(page.locator("#clients tbody tr")).to_have_count(1)
    expect(page.locator("#clients")).to_contain_text("Acme Dental")
    assert page.goto(f"/clients/{client_a.pk}/").status == 200
    expect(page.locator("h1")).to_contain_text("Acme Dental")
    assert page.goto(f"/clients/{client_b.pk}/").status == 404
    # No staff pages for a technician either.
    assert page.goto("/staff/").status == 404
    # Chromium logs the two 404s it was meant to get; nothing else went wrong.
    assert [p for p in page.problems if "status of 404" not in p] == []
    assert len(page.problems) == 2
