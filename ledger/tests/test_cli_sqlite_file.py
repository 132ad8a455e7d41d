"""The real ``heeded`` program against a real SQLite file, tampered with from outside
through Python's sqlite3 module, as someone holding the file could."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

HEEDED = str(Path(sys.executable).with_name("heeded"))

SEED = """
import datetime as dt
from django.db import transaction
from clients.services import client_create
from ledger.services import event_append

now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
for name in ("Acme Dental", "Bravo Legal"):
    client = client_create(name=name, actor="system:seed", now=now)
    for n in range(4):
        with transaction.atomic():
            event_append(client=client, kind="note", actor="system:seed", at=now, data={"n": n})
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data directory with a migrated SQLite file holding two clients of 5 events."""
    path = tmp_path_factory.mktemp("heeded-ledger-cli")
    heeded(path, "migrate", "--verbosity", "0", check=True)
    heeded(path, "shell", "--verbosity", "0", "--command", SEED, check=True)
    return path


def heeded(data_dir: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "HEEDED_SECRET_KEY"}}
    env.update(HEEDED_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="heeded.settings")
    result = subprocess.run(
        [HEEDED, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_help_is_printed_with_exit_status_0(data_dir):
    result = heeded(data_dir, "ledger", "verify", "--help")

    assert result.returncode == 0
    assert result.stdout.startswith("usage: heeded ledger verify")


def test_bad_input_exits_2_with_the_error_on_stderr(data_dir):
    unknown = heeded(data_dir, "ledger", "verify", "--client", "nobody")
    missing = heeded(data_dir, "ledger", "head")

    assert (unknown.returncode, unknown.stdout) == (2, "")
    assert "unknown client 'nobody'" in unknown.stderr
    assert (missing.returncode, missing.stdout) == (2, "")
    assert "the following arguments are required: --client" in missing.stderr


def test_a_payload_edited_in_the_file_fails_verification_with_exit_1(data_dir):
    before = heeded(data_dir, "ledger", "verify")
    assert (before.returncode, before.stdout) == (
        0,
        "ok: 2 clients, 10 events, 0 anchors checked\n",
    )
    head = heeded(data_dir, "ledger", "head", "--client", "acme-dental")
    assert head.stdout.startswith("5 ")

    database = sqlite3.connect(data_dir / "heeded.sqlite3")
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"), database:
            database.execute("UPDATE ledger_event SET data = '{}' WHERE seq = 3")
        with database:
            database.execute("DROP TRIGGER ledger_event_no_update")
            database.execute(
                "UPDATE ledger_event SET data = ? WHERE seq = 3 AND client_id = "
                "(SELECT id FROM clients_client WHERE slug = 'acme-dental')",
                [json.dumps({"n": 1, "approved": True})],
            )
    finally:
        database.close()

    after = heeded(data_dir, "ledger", "verify")
    assert after.returncode == 1, after.stderr
    first = after.stdout.splitlines()[0]
    assert first.startswith('FAIL: client "Acme Dental" (id ')
    assert "event 3: hash mismatch" in first
    assert "Bravo Legal" not in after.stdout
    assert heeded(data_dir, "ledger", "verify", "--client", "bravo-legal").returncode == 0
