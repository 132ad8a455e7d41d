"""The production role set-up of docs/ledger.md §9, run as written against a scratch
database: the application role can append and verify but cannot change, remove or
unprotect an event."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from heeded.testing import requires_postgres
from ledger.tests.test_docs import block

HEEDED = str(Path(sys.executable).with_name("heeded"))
SEED = """
import datetime as dt
from django.db import transaction
from clients.services import client_create
from ledger.services import event_append

now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
client = client_create(name="Acme Dental", actor="system:seed", now=now)
with transaction.atomic():
    event_append(client=client, kind="note", actor="system:seed", at=now, data={"n": 1})
"""

pytestmark = requires_postgres


def statements(sql: str, names: dict[str, str]) -> list[str]:
    for name, replacement in names.items():
        sql = re.sub(rf"\b{name}\b", replacement, sql)
    return [s.strip() for s in sql.split(";") if s.strip()]


@pytest.fixture
def scratch(tmp_path) -> Iterator[dict[str, str]]:
    """Role and database names unique to this run, dropped afterwards."""
    import psycopg

    db = settings.DATABASES["default"]
    server = {
        "host": db["HOST"] or "127.0.0.1",
        "port": str(db["PORT"] or 5432),
        "user": db["USER"],
        "password": db["PASSWORD"] or None,
    }
    suffix = secrets.token_hex(4)
    names = {
        "heeded_owner": f"heeded_owner_{suffix}",
        "heeded_app": f"heeded_app_{suffix}",
        "heeded": f"heeded_roles_{suffix}",
    }
    with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
        if not admin.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]:
            pytest.skip("needs a PostgreSQL superuser to create roles")
    try:
        yield {**server, **names, "data_dir": str(tmp_path)}
    finally:
        with psycopg.connect(**server, dbname="postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{names["heeded"]}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{names["heeded_app"]}"')
            admin.execute(f'DROP ROLE IF EXISTS "{names["heeded_owner"]}"')


def heeded_as(scratch: dict[str, str], role: str, *args: str) -> subprocess.CompletedProcess:
    url = f"postgres://{scratch[role]}@{scratch['host']}:{scratch['port']}/{scratch['heeded']}"
    env = {k: v for k, v in os.environ.items() if k != "HEEDED_SECRET_KEY"}
    env.update(
        DATABASE_URL=url,
        HEEDED_DATA_DIR=scratch["data_dir"],
        DJANGO_SETTINGS_MODULE="heeded.settings",
    )
    return subprocess.run(
        [HEEDED, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_the_documented_roles_let_the_app_append_but_never_change_events(scratch):
    import psycopg

    server = {k: scratch[k] for k in ("host", "port", "password")}
    names = {k: scratch[k] for k in ("heeded_owner", "heeded_app", "heeded")}
    superuser = scratch["user"]
    with psycopg.connect(**server, user=superuser, dbname="postgres", autocommit=True) as conn:
        for statement in statements(block("sql:server"), names):
            conn.execute(statement)
    with psycopg.connect(**server, user=superuser, dbname=names["heeded"], autocommit=True) as conn:
        for statement in statements(block("sql:database"), names):
            conn.execute(statement)

    migrated = heeded_as(scratch, "heeded_owner", "migrate", "--verbosity", "0")
    assert migrated.returncode == 0, migrated.stderr
    owner = {**server, "user": names["heeded_owner"], "dbname": names["heeded"]}
    with psycopg.connect(**owner, autocommit=True) as conn:
        for statement in statements(block("sql:grants"), names):
            conn.execute(statement)

    seeded = heeded_as(scratch, "heeded_app", "shell", "--verbosity", "0", "--command", SEED)
    assert seeded.returncode == 0, seeded.stderr
    anchored = heeded_as(
        scratch, "heeded_app", "ledger", "anchor", "--client", "1", "--purpose", "t"
    )
    assert anchored.returncode == 0, anchored.stderr
    verified = heeded_as(scratch, "heeded_app", "ledger", "verify")
    assert verified.stdout == "ok: 1 client, 2 events, 1 anchor checked\n", verified.stderr

    app = {**server, "user": names["heeded_app"], "dbname": names["heeded"]}
    refusals = {
        "UPDATE ledger_event SET kind = 'forged'": "permission denied for table ledger_event",
        "DELETE FROM ledger_event": "permission denied for table ledger_event",
        "TRUNCATE ledger_event": "permission denied for table ledger_event",
        "DROP TRIGGER ledger_event_no_update_delete ON ledger_event": "must be owner",
        "ALTER TABLE ledger_event DISABLE TRIGGER ALL": "must be owner",
        "UPDATE ledger_anchor SET hash = 'forged'": "permission denied for table ledger_anchor",
        "DELETE FROM ledger_anchor": "permission denied for table ledger_anchor",
        "CREATE TABLE shadow (x int)": "permission denied for schema public",
    }
    with psycopg.connect(**app, autocommit=True) as conn:
        for statement, message in refusals.items():
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match=message):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM ledger_event").fetchone()[0] == 2

    verified = heeded_as(scratch, "heeded_app", "ledger", "verify")
    assert verified.returncode == 0, verified.stdout
