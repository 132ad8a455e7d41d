"""Fixtures of the staff UI tests: a frozen clock, logged-in clients, and builders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from followup.models import OutboxMessage
from ledger.models import Event, Head
from recommendations.models import Recommendation

# The pages read the clock themselves; the tests pin it one hour after the shared
# fixtures' `now`, so everything the fixtures made lies in the past.
PAGE_NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_clock(request, time_machine):
    # Browser tests keep the real clock: Chromium would drop a session cookie whose
    # expiry lies in its own past.
    if request.node.get_closest_marker("browser") is None:
        time_machine.move_to(PAGE_NOW, tick=False)


@pytest.fixture(autouse=True)
def fresh_trend_memo():
    # The dashboard keeps the weekly trend in process memory beside the shared cache;
    # each test starts from an empty cache, so from an empty memo too.
    from web.dashboard import _TREND_MEMO

    _TREND_MEMO.clear()


@pytest.fixture
def login(client) -> Callable:
    """``login(user)`` logs the test client in as ``user`` and returns it."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@dataclass(frozen=True)
class Snapshot:
    """What a refused action must leave untouched."""

    status: str
    head: tuple[int, str]
    responses: int
    events: int
    outbox: int


@pytest.fixture
def snapshot() -> Callable[[Recommendation], Snapshot]:
    def _take(rec: Recommendation) -> Snapshot:
        rec = Recommendation.objects.get(pk=rec.pk)
        head = Head.objects.get(client_id=rec.client_id)
        return Snapshot(
            status=rec.status,
            head=(head.seq, head.hash),
            responses=rec.responses.count(),
            events=Event.objects.filter(client_id=rec.client_id).count(),
            outbox=OutboxMessage.objects.count(),
        )

    return _take


@pytest.fixture
def template_fields(admin, now):
    """A catalog template whose versions carry one custom field of every type."""
    from catalog.services import template_create

    return template_create(
        key="offsite-backup",
        title="Keep an immutable off-site backup",
        body="Copy nightly backups to immutable off-site storage.",
        risk_if_ignored="Ransomware can encrypt the only backup.",
        category="backup",
        default_severity="high",
        tags=["backup"],
        custom_fields=[
            {"key": "servers", "label": "Servers in scope", "type": "number", "required": True},
            {
                "key": "provider",
                "label": "Storage provider",
                "type": "choice",
                "choices": ["Wasabi", "Backblaze B2"],
            },
            {"key": "first_test", "label": "First restore test", "type": "date"},
            {"key": "encrypted", "label": "Encrypted", "type": "boolean"},
            {"key": "notes", "label": "Notes", "type": "text"},
        ],
        now=now,
        actor=admin,
    )


@pytest.fixture
def make_recommendations(admin, now, template_mfa) -> Callable[..., list[Recommendation]]:
    """``make_recommendations(n, client, contact, present=False)``: n drafts (or
    presented items) with varied owners, for list pages and query counts."""
    from accounts.choices import Role
    from accounts.models import User
    from recommendations.services import recommendation_create, recommendation_present

    def _make(n: int, client, contact=None, *, present: bool = False) -> list[Recommendation]:
        owners = [
            admin,
            *(
                User.objects.get_or_create(
                    username=f"owner{i}",
                    defaults={"role": Role.TECHNICIAN, "email": f"owner{i}@msp.example"},
                )[0]
                for i in range(3)
            ),
        ]
        made = []
        for i in range(n):
            rec = recommendation_create(
                client=client,
                template_version=template_mfa,
                title=f"{template_mfa.title} ({client.name} {i})",
                severity=["critical", "high", "medium", "low"][i % 4],
                actor=admin,
                now=now,
                owner=owners[i % len(owners)],
                contact=contact,
                tags=["mfa", f"batch{i % 2}"],
            )
            if present:
                rec = recommendation_present(recommendation=rec, actor=admin, now=now)
            made.append(rec)
        return made

    return _make


@pytest.fixture
def count_queries() -> Callable[[Callable[[], object]], int]:
    """``count_queries(fn)`` runs fn and returns how many SQL queries it made."""

    def _count(fn: Callable[[], object]) -> int:
        with CaptureQueriesContext(connection) as ctx:
            fn()
        return len(ctx.captured_queries)

    return _count
