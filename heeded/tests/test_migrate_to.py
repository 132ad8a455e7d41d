"""``heeded migrate-to``: a SQLite installation moved into a scratch PostgreSQL
database holds exactly the same rows, and the target's own ``ledger verify`` passes.

Runs on the SQLite suite when TEST_POSTGRES_URL points at a PostgreSQL server whose
user may create databases (``make test`` sets it for the PostgreSQL run)."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import connections

from heeded.backup import database_at, logical_dump
from heeded.tests.test_backup import LIVE, SHEET
from ledger.models import Head
from recommendations.models import Recommendation
from recommendations.services import recommendation_withdraw
from tracker.services import tracker_import

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connections["default"].vendor != "sqlite",
        reason="migrate-to moves a SQLite installation: runs in the SQLite suite",
    ),
]


@pytest.fixture
def scratch_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    server = os.environ.get("TEST_POSTGRES_URL", "")
    if not server.startswith(("postgres://", "postgresql://")):
        pytest.skip("needs a PostgreSQL server: set TEST_POSTGRES_URL=postgres://…")
    base, _, _ = server.rpartition("/")
    name = f"heeded_migrate_to_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server reachable at TEST_POSTGRES_URL: {exc}")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def installation(settings, tmp_path, admin, manager, contact_a, contact_b, now) -> None:
    settings.DATA_DIR = tmp_path / "data"
    assert tracker_import(source=SHEET, actor=admin, now=now).created == 3
    recommendation_withdraw(
        recommendation=Recommendation.objects.get(title="Enable MFA"),
        actor=admin,
        now=LIVE,
        reason="Sostituita dall'accesso condizionale",
    )


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_migrate_to_moves_every_row_and_proves_it(installation, scratch_url):
    before = logical_dump()
    heads = dict(Head.objects.values_list("client__uuid", "hash"))
    status, out, err = _run("migrate-to", scratch_url)
    assert (status, err) == (0, ""), err
    lines = out.splitlines()
    assert lines[0].startswith("source: SQLite ")
    assert lines[1].startswith(f"target: {scratch_url} (PostgreSQL ")
    assert lines[2:4] == [
        "migrated the target to this release's schema",
        f"backed up {sum(len(rows) for rows in before.values())} rows, 2 ledger chains "
        f"(ok: 2 clients, {_events()} events, 0 anchors checked)",
    ]
    assert lines[5].startswith("compared ") and lines[5].endswith(
        " tables and 2 ledger heads: the same in both databases"
    )
    assert lines[6] == (
        f"heeded ledger verify on the target: ok: 2 clients, {_events()} events, 0 anchors checked"
    )
    assert lines[7] == f"done: set DATABASE_URL={scratch_url} and restart Heeded."
    with database_at(scratch_url, "moved") as alias:
        assert connections[alias].vendor == "postgresql"
        assert logical_dump(alias) == before
        assert dict(Head.objects.using(alias).values_list("client__uuid", "hash")) == heads


def test_migrate_to_refuses_a_target_that_is_not_empty(installation, scratch_url):
    import psycopg

    with psycopg.connect(scratch_url, autocommit=True) as other:
        other.execute("CREATE TABLE invoices (id integer)")
    status, _, err = _run("migrate-to", scratch_url)
    assert status == 1
    assert err == (
        "heeded migrate-to: failed: The target database is not empty (it holds invoices); "
        "migrate-to needs a new, empty database.\n"
    )
    with psycopg.connect(scratch_url) as other:
        tables = other.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    assert tables == [("invoices",)]


def test_migrate_to_refuses_a_url_that_is_not_postgresql(installation, tmp_path):
    status, out, err = _run("migrate-to", f"sqlite:///{tmp_path / 'other.sqlite3'}")
    assert (status, out) == (1, "")
    assert err == (
        f"heeded migrate-to: failed: sqlite:///{tmp_path / 'other.sqlite3'} is not a "
        "postgres:// URL.\n"
    )


def _events() -> int:
    from ledger.models import Event

    return Event.objects.count()
