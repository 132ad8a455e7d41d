"""How many passwords a guesser gets hashed (issue 13): at most the limit per account
and address, whatever the number of attempts, and the owner elsewhere still gets in.

The test settings' hasher counts every hash (heeded/testing/hashers.py); the live test
at the end counts them over real HTTP across two gunicorn workers.
"""

from __future__ import annotations

import http.cookiejar
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from heeded.testing.hashers import hashes

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LIMIT = 10
ADDRESS_LIMIT = 30
ACCOUNT_LIMIT = 100


@pytest.fixture(autouse=True)
def lockout_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.HEEDED_LOGIN_ADDRESS_FAILURE_LIMIT = ADDRESS_LIMIT
    settings.HEEDED_LOGIN_ACCOUNT_FAILURE_LIMIT = ACCOUNT_LIMIT
    settings.ACCOUNT_RATE_LIMITS = False


WRONG = "not the password"


def _login(client, login: str, password: str = WRONG, address: str = "192.0.2.10"):
    return client.post(
        "/accounts/login/", {"login": login, "password": password}, REMOTE_ADDR=address
    )


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("login", ["ada", "ada@msp.example", "nobody", "nobody@msp.example"])
def test_one_failed_attempt_hashes_the_password_once(client, admin, login):
    before = hashes()
    response = _login(client, login)
    assert response.status_code == 200
    assert hashes() - before == 1


def test_a_hundred_wrong_passwords_hash_at_most_the_limit(client, admin):
    before = hashes()
    statuses = [_login(client, "ada").status_code for _ in range(100)]

    assert hashes() - before <= LIMIT
    assert statuses[: LIMIT - 1] == [200] * (LIMIT - 1)
    assert set(statuses[LIMIT:]) == {429}


def test_a_hundred_guesses_at_an_unknown_name_hash_at_most_the_limit(client, admin):
    before = hashes()
    for i in range(100):
        _login(client, "Nobody" if i % 2 else "nobody")
    assert hashes() - before <= LIMIT


def test_the_right_password_from_another_address_still_works(client, admin):
    for _ in range(100):
        _login(client, "ada", address="192.0.2.10")

    response = _login(client, "ada", PASSWORD, address="198.51.100.20")

    assert response.status_code == 302
    assert _logged_in(client)


def test_the_owner_signing_in_elsewhere_does_not_unlock_the_guesser(client, admin):
    for _ in range(LIMIT):
        _login(client, "ada", address="192.0.2.10")
    assert _login(client, "ada", PASSWORD, address="198.51.100.20").status_code == 302
    client.logout()

    before = hashes()
    response = _login(client, "ada", PASSWORD, address="192.0.2.10")

    assert response.status_code == 429
    assert hashes() == before
    assert not _logged_in(client)


def test_guessing_spread_over_many_addresses_locks_the_account_everywhere(client, admin):
    addresses = [f"203.0.113.{i}" for i in range(1, ACCOUNT_LIMIT // LIMIT + 3)]
    before = hashes()
    for address in addresses:
        for _ in range(LIMIT + 5):
            _login(client, "ada", address=address)

    assert hashes() - before <= ACCOUNT_LIMIT
    response = _login(client, "ada", PASSWORD, address="198.51.100.20")
    assert response.status_code == 429
    assert not _logged_in(client)


def test_a_locked_attempt_is_refused_before_the_password_is_hashed(client, admin):
    for _ in range(LIMIT):
        _login(client, "ada")

    before = hashes()
    for spelling in ["ada", "ADA", "ada@msp.example"]:
        assert _login(client, spelling, PASSWORD).status_code == 429
    assert hashes() == before


# --- over real HTTP, two gunicorn workers --------------------------------------------


def _post_login(opener, base: str, login: str, password: str, address: str) -> int:
    with opener.open(f"{base}/accounts/login/", timeout=60) as page:
        html = page.read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token, "no CSRF token on the login page"
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token[1], "login": login, "password": password}
    ).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=body)  # noqa: S310 (http)
    request.add_header("Referer", f"{base}/accounts/login/")
    # The child trusts 127.0.0.1 as a proxy, so this header sets the client address.
    request.add_header("X-Forwarded-For", address)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


@pytest.mark.django_db(transaction=True)
def test_over_http_two_web_processes_hash_at_most_the_limit(admin, tmp_path, settings):
    from followup.tests.support import (
        child_env,
        closed_port,
        database_url_of_this_run,
        start,
        stop,
    )

    log = tmp_path / "hashes.log"
    port = closed_port()
    env = child_env(
        DJANGO_SETTINGS_MODULE="heeded.settings_test",
        DATABASE_URL=database_url_of_this_run(),
        HEEDED_AXES_ENABLED="true",
        HEEDED_TEST_HASH_LOG=str(log),
        HEEDED_LOGIN_FAILURE_LIMIT=str(LIMIT),
        HEEDED_TRUSTED_PROXIES="127.0.0.1",
    )
    server = start(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "heeded.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "-",
        ],
        env=env,
        cwd=Path(settings.BASE_DIR),
    )
    try:
        server.wait_for(f"Listening at: http://127.0.0.1:{port}")
        for _ in range(2):
            server.wait_for("Booting worker with pid")
        base = f"http://127.0.0.1:{port}"

        def opener() -> urllib.request.OpenerDirector:
            jar = urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
            return urllib.request.build_opener(jar, _NoRedirect)

        # allauth's own limit (5 in 5 minutes per account and address, as deployed)
        # and the axes lock share the work; neither lets a wrong password through.
        statuses = [
            _post_login(opener(), base, "ada", "not the password", "192.0.2.10") for _ in range(100)
        ]
        lines = log.read_text().split() if log.exists() else []
        owner = _post_login(opener(), base, "ada", PASSWORD, "198.51.100.20")
    finally:
        stop(server)

    assert 302 not in statuses
    assert len(lines) <= LIMIT, f"{len(lines)} hashes by {len(set(lines))} processes"
    assert owner == 302
    print(f"100 wrong passwords over HTTP: {len(lines)} hashes in {len(set(lines))} processes")
