"""Two-factor sign-in in a real browser (Debian's Chromium through Playwright): a code
computed here from the secret, and an admin without a second factor made to set one
up before anything else. The harness is test_browser.py's."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP

from accounts.tests.totp import totp
from web.tests.test_browser import CHROMIUM, PASSWORD, page, shoot  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (make test installs it)",
    ),
]

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _password_step(page, username: str) -> None:  # noqa: F811 (the fixture's name)
    page.goto("/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")


def test_an_admin_signs_in_with_a_code_from_the_authenticator_app(page, admin, settings):  # noqa: F811
    from playwright.sync_api import expect

    settings.HEEDED_MFA_REQUIRED = "admins"
    TOTP.activate(admin, SECRET)

    _password_step(page, "ada")
    expect(page).to_have_url(f"{page.url.split('/accounts/')[0]}/accounts/2fa/authenticate/")
    shoot(page, "mfa-authenticate")
    page.fill("#id_code", "000000" if totp(SECRET) != "000000" else "111111")
    page.click("button[type=submit] >> nth=0")
    expect(page.locator("h1")).not_to_have_text("Dashboard")
    assert "/accounts/2fa/authenticate/" in page.url

    page.fill("#id_code", totp(SECRET))
    page.click("button[type=submit] >> nth=0")
    expect(page.locator("h1")).to_have_text("Dashboard")
    assert page.problems == []


def test_an_admin_without_a_second_factor_must_set_one_up_first(page, admin, settings):  # noqa: F811
    from playwright.sync_api import expect

    settings.HEEDED_MFA_REQUIRED = "admins"

    _password_step(page, "ada")
    expect(page.locator("h1")).to_have_text("Activate Authenticator App")
    expect(page.locator(".alert-warning")).to_contain_text("must sign in with two factors")
    shoot(page, "mfa-required")

    # Every other page sends the admin back here.
    page.goto("/clients/")
    expect(page.locator("h1")).to_have_text("Activate Authenticator App")

    secret = page.input_value("#authenticator_secret")
    assert len(secret) >= 16
    page.fill("#id_code", totp(secret))
    page.click("form[action='/accounts/2fa/totp/activate/'] button[type=submit]")
    expect(page.locator("h1")).to_have_text("Recovery Codes")
    shoot(page, "mfa-recovery-codes")
    assert Authenticator.objects.filter(user=admin, type="totp").exists()

    page.goto("/")
    expect(page.locator("h1")).to_have_text("Dashboard")
    assert page.problems == []
