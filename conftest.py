"""Shared test fixtures: the named personas every test can ask for.

- ``admin``: Ada, the MSP admin.
- ``manager``: Marco, an account manager (sees every client).
- ``technician``: Tess, a technician assigned to client A only.
- ``auditor``: Otto, read-only.
- ``client_a`` / ``contact_a``: Acme Dental and its decision maker Alice.
- ``client_b`` / ``contact_b``: Bravo Legal and its decision maker Bob, who must see
  nothing of client A.

``security_events`` collects the records logged on ``heeded.security`` (each with its
``request_id``), for tests that a refusal is logged.
"""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.choices import Role
from accounts.models import User

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def now() -> dt.datetime:
    """A fixed 'now' (Monday 2 March 2026, 09:00 UTC) for services that take one."""
    return NOW


def _user(username: str, role: str, **extra: object) -> User:
    return User.objects.create_user(
        username=username,
        email=f"{username}@msp.example",
        password="correct horse battery staple",
        role=role,
        first_name=username.capitalize(),
        **extra,
    )


@pytest.fixture
def admin(db) -> User:
    return _user("ada", Role.ADMIN)


@pytest.fixture
def manager(db) -> User:
    return _user("marco", Role.ACCOUNT_MANAGER)


@pytest.fixture
def technician(db, client_a) -> User:
    user = _user("tess", Role.TECHNICIAN)
    client_a.staff.add(user)
    return user


@pytest.fixture
def auditor(db) -> User:
    return _user("otto", Role.AUDITOR)


@pytest.fixture
def client_a(admin, now):
    from clients.services import client_create

    return client_create(
        name="Acme Dental",
        domains=["acme-dental.example"],
        actor=admin,
        now=now,
        industry="Dental practice",
        regulated=True,
        account_owner=admin,
    )


@pytest.fixture
def client_b(admin, now):
    from clients.services import client_create

    return client_create(
        name="Bravo Legal",
        domains=["bravo-legal.example"],
        actor=admin,
        now=now,
        industry="Law firm",
        language="it",
    )


@pytest.fixture
def contact_a(client_a, admin, now):
    from clients.services import contact_create

    return contact_create(
        client=client_a,
        name="Alice Rossi",
        email="alice@acme-dental.example",
        is_decision_maker=True,
        actor=admin,
        now=now,
    )


@pytest.fixture
def contact_b(client_b, admin, now):
    from clients.services import contact_create

    return contact_create(
        client=client_b,
        name="Bob Bianchi",
        email="bob@bravo-legal.example",
        is_decision_maker=True,
        actor=admin,
        now=now,
    )


@pytest.fixture
def template_mfa(admin, now):
    from catalog.services import template_create

    return template_create(
        key="mfa-remote-access",
        title="Require MFA for all remote access",
        body="Enforce multi-factor authentication on VPN, RDP gateways and webmail.",
        risk_if_ignored="A single phished password gives an attacker remote access.",
        category="identity",
        default_severity="critical",
        control_refs=[
            {"framework": "CIS v8", "id": "6.4"},
            {"framework": "NIST CSF 2.0", "id": "PR.AA-03"},
        ],
        tags=["mfa"],
        now=now,
        actor=admin,
    )


@pytest.fixture
def draft(client_a, contact_a, template_mfa, admin, now):
    """A draft recommendation for client A, made from the MFA template."""
    from recommendations.services import recommendation_create

    return recommendation_create(
        client=client_a,
        template_version=template_mfa,
        actor=admin,
        now=now,
        owner=admin,
        contact=contact_a,
    )


@pytest.fixture
def presented(draft, admin, now):
    """The draft, presented to client A (awaiting a response)."""
    from recommendations.services import recommendation_present

    return recommendation_present(recommendation=draft, actor=admin, now=now)


@pytest.fixture
def security_events():
    """The records logged on ``heeded.security`` during the test, with ``request_id``
    set as the configured handlers set it (the "heeded" logger does not propagate, so
    pytest's caplog would not see them)."""
    import logging

    from lib.requestid import RequestIdFilter

    class Records(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.records: list[logging.LogRecord] = []
            self.addFilter(RequestIdFilter())

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    logger, handler = logging.getLogger("heeded.security"), Records()
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="session", autouse=True)
def _pending_email_translations(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Compile the pending Italian fragments (``locale/pending/*.po``) for the tests
    until they are folded into the project's catalog (``locale/it``), which wins over
    them: they are added last to LOCALE_PATHS. Does nothing once no fragment is left."""
    import subprocess
    from pathlib import Path

    from django.conf import settings
    from django.utils.translation import trans_real

    sources = sorted(str(p) for p in (Path(settings.BASE_DIR) / "locale" / "pending").glob("*.po"))
    if not sources:
        return
    folder = tmp_path_factory.mktemp("pending-locale")
    target = folder / "it" / "LC_MESSAGES" / "django.mo"
    target.parent.mkdir(parents=True)
    merged = folder / "pending.po"
    subprocess.run(["msgcat", "--use-first", "-o", str(merged), *sources], check=True)  # noqa: S603, S607
    subprocess.run(["msgfmt", "-o", str(target), str(merged)], check=True)  # noqa: S603, S607
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS, str(folder)]
    trans_real._translations = {}  # type: ignore[attr-defined]
    trans_real._default = None  # type: ignore[attr-defined]
