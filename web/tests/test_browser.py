"""The staff UI in a real browser: Debian's Chromium driven by Playwright.

Set HEEDED_SCREENSHOTS=/some/dir to keep a screenshot of every step.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from django.db import connections
from django.utils import timezone

from recommendations.lifecycle import Msg
from recommendations.models import Recommendation

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery staple"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (make test installs it)",
    ),
]


@pytest.fixture
def page(live_server, monkeypatch):
    """A Chromium page on the live server. Content-Security-Policy violations, failed
    loads and script errors are collected in ``page.problems``."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # test makes between browser steps are still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1400, "height": 1000}
        )
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        tab.problems = []

        def on_console(message) -> None:
            # A refused form answers 400 on purpose; Chromium logs that as an error.
            if message.type == "error" and "status of 400" not in message.text:
                tab.problems.append(message.text)

        tab.on("console", on_console)
        tab.on("pageerror", lambda error: tab.problems.append(str(error)))
        yield tab
        context.close()
        browser.close()
        # While Playwright's loop runs, Django keeps the test's database connection
        # per async context, not per thread: close that one here, or PostgreSQL
        # refuses to drop the test database while it is still open.
        connections.close_all()


def shoot(page, name: str) -> None:
    folder = os.environ.get("HEEDED_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def log_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    shoot(page, "login")
    page.fill("#id_login", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("h1:has-text('Dashboard')")


def test_a_manager_takes_a_recommendation_from_template_to_accepted(
    page, manager, client_a, contact_a, template_mfa
):
    from playwright.sync_api import expect

    log_in(page, "marco")
    shoot(page, "dashboard")

    page.click("text=New recommendation")
    expect(page.locator("h1")).to_have_text("New recommendation")
    shoot(page, "pick-template")
    page.click(f"a[href='/recommendations/new/?template={template_mfa.pk}']")
    expect(page.locator("#id_title")).to_have_value(template_mfa.title)
    page.select_option("#id_client", label="Acme Dental")
    page.select_option("#id_contact", value=str(contact_a.pk))
    shoot(page, "new-from-template")
    page.click("text=Create draft")

    status = page.locator("#rec-status")
    expect(status).to_contain_text("Draft")
    rec = Recommendation.objects.get()
    assert (rec.client, rec.contact, rec.owner) == (client_a, contact_a, manager)

    # A marker on the window survives an action recorded in place (htmx), not a load.
    page.evaluate("window.heededMarker = 'in place'")
    page.click("#action-present button[type=submit]")
    expect(status).to_contain_text("Awaiting response")
    expect(page.locator(".alert-success")).to_contain_text("Presented to the client")
    shoot(page, "presented")

    respond = page.locator("#action-respond")
    respond.locator("label:has-text('Accept')").click()
    # Only the fields an acceptance needs stay in view.
    expect(page.locator("#id_respond_deferred_until")).to_be_hidden()
    expect(page.locator("#id_respond_planned_for")).to_be_visible()
    page.fill("#id_respond_attendees", "Alice Rossi, Marco Conti")
    respond.locator("button[type=submit]").click()

    error = page.locator("#action-respond .field.has-error .field-error")
    expect(error).to_have_text(Msg.PLANNED_DATE_REQUIRED)
    expect(page.locator("#action-respond .field.has-error input")).to_have_attribute(
        "id", "id_respond_planned_for"
    )
    expect(page.locator("#id_respond_attendees")).to_have_value("Alice Rossi, Marco Conti")
    expect(status).to_contain_text("Awaiting response")
    # The refused form came back in place, its conditional fields still working.
    expect(page.locator("#id_respond_deferred_until")).to_be_hidden()
    shoot(page, "accept-refused")
    assert Recommendation.objects.get().status == "awaiting_response"

    planned = timezone.localdate(timezone.now(), client_a.tz) + dt.timedelta(days=30)
    page.fill("#id_respond_planned_for", planned.isoformat())
    respond.locator("button[type=submit]").click()

    expect(status).to_contain_text("Accepted")
    timeline = page.locator("#timeline")
    for kind in ("Created", "Presented", "Accepted"):
        expect(timeline.locator(".event-kind", has_text=kind)).to_have_count(1)
    expect(timeline).to_contain_text("Awaiting response → Accepted")
    expect(page.locator("#responses")).to_contain_text("Alice Rossi")
    shoot(page, "accepted")
    rec = Recommendation.objects.get()
    assert (rec.status, rec.planned_for) == ("accepted", planned)
    assert page.evaluate("window.heededMarker") == "in place"
    assert page.problems == []


def test_the_filters_update_the_list_in_place(
    page, manager, client_a, contact_a, client_b, contact_b, template_mfa, admin
):
    from playwright.sync_api import expect

    from recommendations.services import recommendation_create

    for client, contact in ((client_a, contact_a), (client_b, contact_b)):
        recommendation_create(
            client=client,
            template_version=template_mfa,
            title=f"MFA for {client.name}",
            actor=admin,
            now=timezone.now(),
            contact=contact,
        )
    log_in(page, "marco")
    page.goto("/recommendations/")
    rows = page.locator("#recommendations tbody tr")
    expect(rows).to_have_count(2)
    # A marker on the window survives an htmx swap but not a page load.
    page.evaluate("window.heededMarker = 'still here'")

    page.select_option("#id_client", label="Bravo Legal")

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("MFA for Bravo Legal")
    # The list's whole state is in the address, so it can be shared as it is.
    expect(page).to_have_url(
        f"{page.url.split('?')[0]}?q=&client={client_b.pk}&severity=&owner=&tag="
        "&per_page=50&sort=-created"
    )
    assert page.evaluate("window.heededMarker") == "still here"
    shoot(page, "filtered-list")

    page.fill("#id_q", "Acme")
    expect(page.locator("#results")).to_contain_text("No recommendation matches these filters.")
    assert page.problems == []


def test_an_auditor_reads_a_recommendation_without_action_forms(page, auditor, presented):
    from playwright.sync_api import expect

    log_in(page, "otto")
    page.goto(f"/recommendations/{presented.pk}/")

    expect(page.locator("#rec-status")).to_contain_text("Awaiting response")
    expect(page.locator("#actions")).to_contain_text("Your account is read-only.")
    expect(page.locator("#actions form")).to_have_count(0)
    assert page.problems == []


def test_switching_to_italian_translates_the_same_page(page, manager, presented):
    from playwright.sync_api import expect

    log_in(page, "marco")
    page.goto(f"/recommendations/{presented.pk}/")
    expect(page.locator("h2", has_text="Timeline")).to_be_visible()
    page.select_option("#language-choice", "it")
    page.click("#language-switch button[type=submit]")
    page.wait_for_url(f"**/recommendations/{presented.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.locator("h2", has_text="Cronologia")).to_be_visible()
    expect(page.locator("nav.topbar-inner")).to_contain_text("Cruscotto")
    shoot(page, "recommendation-it")
    manager.refresh_from_db()
    assert manager.language == "it"
    assert page.problems == []
