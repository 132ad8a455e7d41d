"""The recommendation workflows in a real browser: one template for two clients,
presented together, a deferral recorded with its justification and seen on the
dashboard. Same harness as ``test_browser.py`` (Debian's Chromium, Playwright)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from recommendations.models import Recommendation
from web.tests.test_browser import CHROMIUM, log_in, page, shoot  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (make test installs it)",
    ),
]


def test_a_template_for_two_clients_presented_then_deferred_shows_on_the_dashboard(
    page,  # noqa: F811
    manager,
    client_a,
    contact_a,
    client_b,
    contact_b,
    template_mfa,
):
    from playwright.sync_api import expect

    log_in(page, "marco")
    page.goto("/recommendations/new/")
    page.click("#apply-to-many")
    page.click(f"a[href='/recommendations/apply/?template={template_mfa.pk}']")
    expect(page.locator("h1")).to_contain_text(template_mfa.title)
    page.check(f"#client-{client_a.pk}")
    page.check(f"#client-{client_b.pk}")
    shoot(page, "apply-template")
    page.click("#apply-form button[type=submit]")

    expect(page.locator(".alert-success")).to_contain_text("Created 2 recommendations.")
    rows = page.locator("#applied tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Acme Dental")
    expect(rows.nth(1)).to_contain_text("Bravo Legal")
    assert [r.status for r in Recommendation.objects.order_by("client__name")] == [
        "draft",
        "draft",
    ]
    shoot(page, "applied")

    page.click("#applied button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("Presented 2 recommendations.")
    expect(rows.nth(0)).to_contain_text("Awaiting response")
    expect(rows.nth(1)).to_contain_text("Awaiting response")

    bravo = Recommendation.objects.get(client=client_b)
    page.click(f"a[href='/recommendations/{bravo.pk}/']")
    respond = page.locator("#action-respond")
    respond.locator("label.radio-choice:has-text('Defer')").click()
    page.select_option("#id_respond_channel", value="phone")
    page.select_option("#id_respond_responder", value=str(contact_b.pk))
    until = timezone.localdate(timezone.now(), client_b.tz) + dt.timedelta(days=10)
    page.fill("#id_respond_deferred_until", until.isoformat())
    page.fill(
        "#id_respond_justification",
        "Il budget di D'Angelo Società è fermo fino alla chiusura del trimestre.",
    )
    shoot(page, "deferral")
    respond.locator("button[type=submit]").click()

    expect(page.locator("#rec-status")).to_contain_text("Deferred")
    expect(page.locator("#responses")).to_contain_text("fino alla chiusura del trimestre")
    bravo.refresh_from_db()
    assert (bravo.status, bravo.deferred_until) == ("deferred", until)

    page.goto("/")
    item = page.locator(f"main a[href='/recommendations/{bravo.pk}/']").first
    expect(item).to_be_visible()
    expect(page.locator("main")).to_contain_text("Bravo Legal")
    shoot(page, "dashboard-deferred")
    assert page.problems == []
