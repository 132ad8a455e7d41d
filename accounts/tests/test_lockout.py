"""Login lockout: per account, whatever the spelling, and per client address.

Axes is off in the test settings; every test here turns it on. allauth's own
per-minute login limits are turned off where they would stop attempts before Axes
sees them, so what is measured is the lockout itself.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from axes.models import AccessAttempt
from django.utils import timezone

from accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
WRONG = "not the password"
LIMIT = 10
ADDRESS_LIMIT = 30
SPELLINGS = [
    "ada",
    "ADA",
    "ada@msp.example",
    " Ada ",
    "ADA@MSP.EXAMPLE",
    "\uff41\uff44\uff41",  # fullwidth "ada": the same name after NFKC
]


@pytest.fixture(autouse=True)
def lockout_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.HEEDED_LOGIN_ADDRESS_FAILURE_LIMIT = ADDRESS_LIMIT
    settings.ACCOUNT_RATE_LIMITS = False


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def security_log():
    """The lines logged on heeded.security (the "heeded" logger does not propagate,
    so pytest's caplog never sees them)."""
    logger, handler = logging.getLogger("heeded.security"), _Lines()
    logger.addHandler(handler)
    try:
        yield lambda: handler.lines
    finally:
        logger.removeHandler(handler)


def _lockouts(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("login_locked_out ")]


def _login(client, login: str, password: str = WRONG, **extra: str):
    return client.post("/accounts/login/", {"login": login, "password": password}, **extra)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_every_spelling_of_an_account_counts_against_one_lock(client, admin):
    for i in range(LIMIT):
        _login(client, SPELLINGS[i % len(SPELLINGS)])

    response = _login(client, "ada", PASSWORD)

    assert response.status_code == 429
    assert not _logged_in(client)


def test_the_right_password_under_another_spelling_neither_logs_in_nor_clears_the_lock(
    client, admin
):
    for _ in range(LIMIT):
        _login(client, "ada")

    for spelling in ["ada@msp.example", "ADA", " ada "]:
        response = _login(client, spelling, PASSWORD)
        assert response.status_code == 429, spelling
        assert not _logged_in(client), spelling

    assert _login(client, "ada", PASSWORD).status_code == 429
    assert not _logged_in(client)


def test_thirty_rotated_spellings_get_at_most_the_limit_of_password_checks(
    client, admin, monkeypatch
):
    checks: list[str] = []
    check_password = User.check_password

    def counting(user: User, raw: str) -> bool:
        checks.append(user.username)
        return check_password(user, raw)

    monkeypatch.setattr(User, "check_password", counting)
    rotation = [s.upper() if i % 2 else s for i in range(5) for s in SPELLINGS][:30]

    for spelling in rotation:
        _login(client, spelling)

    # One password check per attempt (one backend, each account checked once), and
    # none once the lock holds.
    assert len(checks) <= LIMIT


def test_the_lock_holds_until_the_cool_off_has_passed(client, admin):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        for _ in range(LIMIT):
            _login(client, "ADA")
        traveller.shift(59 * 60)
        assert _login(client, "ada@msp.example", PASSWORD).status_code == 429
    # Each refused attempt during the lock restarts the hour.
    with time_machine.travel(start + dt.timedelta(minutes=59 + 61), tick=False):
        response = _login(client, "ada@msp.example", PASSWORD)
    assert response.status_code == 302
    assert _logged_in(client)


def test_an_unknown_name_is_locked_like_a_known_one_whatever_its_case(client, admin):
    for i in range(LIMIT):
        _login(client, "ghost" if i % 2 else "GHOST")

    assert _login(client, "Ghost").status_code == 429


def test_one_address_guessing_many_accounts_is_locked(client, admin):
    for i in range(ADDRESS_LIMIT):
        _login(client, f"guess{i}")

    response = _login(client, "ada", PASSWORD)

    assert response.status_code == 429
    assert not _logged_in(client)


def test_the_address_lock_does_not_lock_the_account_elsewhere(client, admin):
    for i in range(ADDRESS_LIMIT):
        _login(client, f"guess{i}", REMOTE_ADDR="198.51.100.7")

    response = _login(client, "ada", PASSWORD, REMOTE_ADDR="198.51.100.8")

    assert response.status_code == 302
    assert _logged_in(client)


def test_a_successful_login_clears_the_account_count_but_not_the_address_count(client, admin):
    for _ in range(LIMIT - 1):
        _login(client, "ada")
    for i in range(ADDRESS_LIMIT - LIMIT):
        _login(client, f"guess{i}")

    assert _login(client, "ADA", PASSWORD).status_code == 302
    client.logout()

    assert not AccessAttempt.objects.filter(username=f"user:{admin.pk}").exists()
    # The guesses at other names still count against this address.
    for i in range(LIMIT):
        _login(client, f"more{i}")
    assert _login(client, "ada", PASSWORD).status_code == 429
    assert not _logged_in(client)


def test_a_lockout_is_logged_as_one_line_with_the_account_and_the_address(
    client, admin, security_log
):
    for _ in range(LIMIT):
        _login(client, "ada@msp.example", REMOTE_ADDR="203.0.113.9")

    assert _lockouts(security_log()) == [
        f'login_locked_out actor="anonymous" account="user:{admin.pk}" address="203.0.113.9"'
    ]


def test_a_logged_login_string_cannot_forge_a_log_line(client, security_log):
    forged = 'x"\r\n2026-01-01 INFO heeded: admin logged in'
    for _ in range(LIMIT):
        _login(client, forged)

    # Control characters never reach the lock key; the quote is escaped in the line.
    assert _lockouts(security_log()) == [
        'login_locked_out actor="anonymous"'
        ' account="login:x\\"2026-01-01 info heeded: admin logged in" address="127.0.0.1"'
    ]
    # The failed attempts before the lock are logged too, just as escaped.
    assert all("\r" not in line and "\n" not in line for line in security_log())


def test_line_breaks_and_quotes_in_a_logged_value_are_escaped(security_log):
    from accounts.lockout import log_lockout

    log_lockout(sender="axes", request=None, username='a"\r\n\u2028b\\', ip_address="::1")

    assert security_log() == [
        'login_locked_out actor="anonymous" account="a\\"\\r\\n\\u2028b\\\\" address="::1"'
    ]
