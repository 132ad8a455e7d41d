"""A process killed in the middle of a write leaves nothing half-stored, and running it
again finishes the job.

On PostgreSQL the kill comes from outside: the test holds a lock the child needs
half-way through its transaction, waits until the child is blocked on it, sends
SIGKILL, then looks at what is stored. SQLite has no such lock (one writer, no advisory
locks), so the same crashes are also made by a child that kills itself at a chosen
point (``heeded.tests.crashing``); those tests run on both engines.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from followup.tests.support import (
    EVENT_TIMEOUT,
    child_env,
    database_url_of_this_run,
    heeded,
    someone_waits_for_a_lock,
    start,
    stop,
)
from heeded.backup import create_backup, nonempty_tables, restore_archive
from heeded.testing import requires_postgres
from heeded.tests.crashing import ARMED, KILLED
from ledger.models import Event, Head
from ledger.verify import verify_all
from recommendations.models import Recommendation
from tracker.services import tracker_import

pytestmark = pytest.mark.django_db(transaction=True)

SHEET = (
    "Client,Recommendation,Date made,Response category,Justification\r\n"
    "Acme Dental,Enable MFA on the D'Angelo laptops,2025-01-15,Accepted,\r\n"
    "Acme Dental,Replace the Società NAS,2025-02-03,Rejected,Too costly\r\n"
    "Bravo Legal,Offsite backups,2025-03-05,Accepted,\r\n"
)


def _kill_when_blocked(child) -> None:
    deadline = time.monotonic() + EVENT_TIMEOUT
    while not someone_waits_for_a_lock():
        assert child.process.poll() is None, child.rest()
        assert time.monotonic() < deadline, f"the child never blocked:\n{child.rest(timeout=1)}"
        time.sleep(0.05)
    os.kill(child.process.pid, signal.SIGKILL)
    assert child.process.wait(EVENT_TIMEOUT) == -signal.SIGKILL


@requires_postgres
def test_an_import_killed_half_way_stores_nothing_and_runs_again(
    admin, client_a, client_b, contact_a, contact_b, tmp_path
):
    sheet = tmp_path / "tracker.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    before = (Recommendation.objects.count(), Event.objects.count(), list(Head.objects.values()))
    env = child_env(DATABASE_URL=database_url_of_this_run())
    with transaction.atomic():
        # Hold client B's ledger head row, the append lock: the child writes Acme's two
        # rows inside its one transaction, then blocks on Bravo's, where it is killed.
        assert Head.objects.select_for_update().filter(client=client_b).exists()
        child = start([*heeded(), "import", str(sheet), "--as", admin.username], env=env)
        try:
            _kill_when_blocked(child)
        finally:
            stop(child)

    after = (Recommendation.objects.count(), Event.objects.count(), list(Head.objects.values()))
    assert after == before
    report = tracker_import(
        source=sheet.read_bytes(), filename="tracker.csv", actor=admin, now=client_a.created_at
    )
    assert (report.created, report.refused) == (3, 0), report.errors
    assert verify_all().ok


@requires_postgres
def test_a_restore_killed_half_way_leaves_no_row_and_runs_again(
    admin, client_a, client_b, contact_a, contact_b, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "data"
    evidence = settings.DATA_DIR / "evidence" / "2025"
    evidence.mkdir(parents=True)
    (evidence / "signed.eml").write_bytes(b"From: alice@acme-dental.example\r\n\r\nyes\r\n")
    (tmp_path / "tracker.csv").write_text(SHEET, encoding="utf-8")
    report = tracker_import(
        source=(tmp_path / "tracker.csv").read_bytes(),
        filename="t.csv",
        actor=admin,
        now=client_a.created_at,
    )
    assert report.created == 3, report.errors
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive, now=client_a.created_at)
    heads = dict(Head.objects.values_list("client__uuid", "hash"))
    call_command("flush", interactive=False, verbosity=0)
    (evidence / "signed.eml").unlink()

    env = child_env(DATABASE_URL=database_url_of_this_run(), HEEDED_DATA_DIR=str(settings.DATA_DIR))
    with transaction.atomic():
        # SHARE mode lets the child read (its checks that the database is empty) but not
        # insert: it blocks inside its transaction, after the evidence is in place.
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Event._meta.db_table} IN SHARE MODE")
        child = start([*heeded(), "restore", str(archive)], env=env)
        try:
            _kill_when_blocked(child)
        finally:
            stop(child)

    assert nonempty_tables("default") == []
    assert (evidence / "signed.eml").is_file()  # placed before the rows, identical

    restore_archive(archive)
    assert dict(Head.objects.values_list("client__uuid", "hash")) == heads
    assert verify_all().ok
    assert Path(evidence / "signed.eml").read_bytes().endswith(b"yes\r\n")


# --- the same crashes on either engine: the child kills itself half-way -------------


def _crashing(point: str, *command: str, env: dict[str, str]) -> dict[str, int]:
    """Run ``heeded <command>`` until it kills itself at ``point``; the rows its open
    transaction had written by then (``clients``, ``recommendations``)."""
    import sys

    child = start([sys.executable, "-m", "heeded.tests.crashing", point, *command], env=env)
    try:
        child.wait_for(ARMED)
        line = child.wait_for(KILLED)
        assert child.process.wait(EVENT_TIMEOUT) == -signal.SIGKILL, child.rest()
    finally:
        stop(child)
    counts = line.split(" with ", 1)[1].split()
    return {name: int(n) for name, n in (c.split("=") for c in counts)}


def test_an_import_that_dies_half_way_stores_nothing_and_runs_again(
    admin, client_a, client_b, contact_a, contact_b, tmp_path
):
    sheet = tmp_path / "tracker.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    before = (Recommendation.objects.count(), Event.objects.count(), list(Head.objects.values()))

    # The sheet's rows are written in the import's one transaction; it dies as it
    # appends Bravo's first ledger event, after Acme's.
    written = _crashing(
        f"ledger-append:{client_b.pk}",
        "import",
        str(sheet),
        "--as",
        admin.username,
        env=child_env(DATABASE_URL=database_url_of_this_run()),
    )

    assert written["recommendations"] == before[0] + 3  # half-way: the rows were in
    after = (Recommendation.objects.count(), Event.objects.count(), list(Head.objects.values()))
    assert after == before
    report = tracker_import(
        source=sheet.read_bytes(), filename="tracker.csv", actor=admin, now=client_a.created_at
    )
    assert (report.created, report.refused) == (3, 0), report.errors
    assert verify_all().ok


def test_a_restore_that_dies_half_way_leaves_no_row_and_runs_again(
    admin, client_a, client_b, contact_a, contact_b, settings, tmp_path
):
    settings.DATA_DIR = tmp_path / "data"
    evidence = settings.DATA_DIR / "evidence" / "2025"
    evidence.mkdir(parents=True)
    (evidence / "signed.eml").write_bytes(b"From: alice@acme-dental.example\r\n\r\nyes\r\n")
    (tmp_path / "tracker.csv").write_text(SHEET, encoding="utf-8")
    report = tracker_import(
        source=(tmp_path / "tracker.csv").read_bytes(),
        filename="t.csv",
        actor=admin,
        now=client_a.created_at,
    )
    assert report.created == 3, report.errors
    archive = tmp_path / "backup.tar.gz"
    create_backup(archive, now=client_a.created_at)
    heads = dict(Head.objects.values_list("client__uuid", "hash"))
    call_command("flush", interactive=False, verbosity=0)
    (evidence / "signed.eml").unlink()

    # The ledger, the clients and the recommendations are inserted before the responses.
    written = _crashing(
        "restore-table:recommendations.response",
        "restore",
        str(archive),
        env=child_env(
            DATABASE_URL=database_url_of_this_run(), HEEDED_DATA_DIR=str(settings.DATA_DIR)
        ),
    )

    assert (written["clients"], written["recommendations"]) == (2, 3)  # half-way
    assert nonempty_tables("default") == []
    assert (evidence / "signed.eml").is_file()  # placed before the rows, identical

    restore_archive(archive)
    assert dict(Head.objects.values_list("client__uuid", "hash")) == heads
    assert verify_all().ok
    assert Path(evidence / "signed.eml").read_bytes().endswith(b"yes\r\n")
