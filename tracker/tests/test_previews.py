"""The preview as work for the worker: queued, claimed once, run, its report kept whole."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from recommendations.models import Recommendation
from tracker import previews
from tracker.models import Preview, PreviewStatus
from tracker.previews import (
    ProgressFile,
    preview_figures,
    preview_queue,
    preview_take,
    progress_path,
    read_upload,
    report_from_json,
    upload_path,
)
from tracker.services import tracker_import
from tracker.tests.conftest import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def _queue(owner, data: bytes, now: dt.datetime, **options) -> Preview:
    import hashlib

    return preview_queue(
        owner=owner,
        data=data,
        filename="sheet.csv",
        now=now,
        token=hashlib.sha256(data).hexdigest(),
        **options,
    )


def test_the_worker_takes_a_queued_preview_and_keeps_the_report_of_the_dry_run(world, messy, now):
    preview = _queue(world["admin"], messy, now)
    assert preview.status == PreviewStatus.QUEUED and preview.result is None
    stored = upload_path(world["admin"].pk, preview.file_sha256)
    assert read_upload(stored) == messy
    # At rest the sheet is sealed with the installation's keys, not kept in the clear.
    assert messy[:40] not in stored.read_bytes()

    line = preview_take(now, "worker-1")

    preview.refresh_from_db()
    assert line == f"preview {preview.pk} of sheet.csv: done"
    assert (preview.status, preview.claimed_by, preview.attempts) == ("done", "worker-1", 1)
    direct = tracker_import(
        source=messy, filename="sheet.csv", actor=world["admin"], now=now, dry_run=True
    )
    kept = report_from_json(preview.result)
    assert kept.summary() == direct.summary()
    assert kept.errors == direct.errors  # row and column named, the same sentences
    assert (kept.notes, kept.defaults, kept.choosable) == (
        direct.notes,
        direct.defaults,
        direct.choosable,
    )
    assert not Recommendation.objects.exists()
    assert not progress_path(preview.pk).exists()
    assert preview_take(now, "worker-1") is None  # nothing else is queued


def test_a_preview_run_in_the_request_is_finished_when_it_is_returned(world, now):
    sheet = csv_bytes("Client,Recommendation,Date made", "Acme Dental,Enable MFA,2025-01-10")
    preview = _queue(world["admin"], sheet, now, worker="web:1")
    assert (preview.status, preview.claimed_by) == ("done", "web:1")
    assert report_from_json(preview.result).created == 1
    assert preview_take(now, "worker-1") is None  # the worker does not run it again


def test_a_running_preview_is_left_to_its_worker_until_its_lease_passes(world, messy, now):
    preview = _queue(world["admin"], messy, now)
    Preview.objects.filter(pk=preview.pk).update(
        status=PreviewStatus.RUNNING,
        claimed_by="dead-worker",
        attempts=1,
        lease_until=now + dt.timedelta(minutes=5),
    )
    assert preview_take(now, "worker-2") is None
    later = now + dt.timedelta(minutes=6)
    assert preview_take(later, "worker-2") == f"preview {preview.pk} of sheet.csv: done"
    preview.refresh_from_db()
    assert (preview.claimed_by, preview.attempts, preview.status) == ("worker-2", 2, "done")


def test_a_preview_whose_worker_died_three_times_is_given_up(world, messy, now):
    preview = _queue(world["admin"], messy, now)
    Preview.objects.filter(pk=preview.pk).update(
        status=PreviewStatus.RUNNING, claimed_by="dead", attempts=3, lease_until=now
    )
    assert preview_take(now + dt.timedelta(seconds=1), "w") == (
        f"preview {preview.pk} given up after 3 attempts"
    )
    preview.refresh_from_db()
    assert (preview.status, preview.error, preview.result) == (
        "failed",
        previews.GAVE_UP,
        None,
    )


def test_an_unreadable_file_is_kept_as_its_sentence_under_the_field_at_fault(world, now):
    preview = _queue(world["admin"], b"Client;Notes\r\nAcme;x\r\n", now)
    preview_take(now, "w")
    preview.refresh_from_db()
    assert preview.status == "unreadable" and preview.error_field == "file"
    assert preview.error.startswith("The sheet has no Recommendation or Date made column")
    assert preview.result is None


def test_a_crash_mid_preview_fails_it_writes_nothing_and_the_worker_goes_on(
    world, messy, now, monkeypatch
):
    def crash(**kwargs):
        kwargs["progress"](100, 1000)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(previews, "tracker_import", crash)
    preview = _queue(world["admin"], messy, now)
    assert preview_take(now, "w") == f"preview {preview.pk} failed: RuntimeError"
    preview.refresh_from_db()
    assert (preview.status, preview.error, preview.result) == ("failed", "RuntimeError", None)
    assert not progress_path(preview.pk).exists()
    assert not Recommendation.objects.exists()


def test_a_preview_whose_upload_is_gone_says_to_upload_again(world, messy, now):
    preview = _queue(world["admin"], messy, now)
    upload_path(world["admin"].pk, preview.file_sha256).unlink()
    preview_take(now, "w")
    preview.refresh_from_db()
    assert (preview.status, preview.error) == ("failed", previews.STALE)


# The worker closes stale connections, so it runs outside the test's transaction.
@pytest.mark.django_db(transaction=True)
def test_heeded_worker_runs_queued_previews(world, messy, now):
    preview = _queue(world["admin"], messy, now)
    out = io.StringIO()
    call_command("worker", once=True, worker_id="w-test", stdout=out)
    preview.refresh_from_db()
    assert (preview.status, preview.claimed_by) == ("done", "w-test")
    assert f"queued: tracker-preview: preview {preview.pk} of sheet.csv: done" in out.getvalue()


def test_the_figures_are_written_whole_at_most_every_interval_and_always_the_last(tmp_path):
    clock = iter([10.0, 10.1, 10.2, 11.0, 11.1]).__next__
    path = tmp_path / "p.json"
    board = ProgressFile(path, clock=clock, interval=0.5)
    board(100, 1000)
    assert json.loads(path.read_text())["done"] == 100
    board(200, 1000)  # 0.1 s later: not written
    assert json.loads(path.read_text())["done"] == 100
    board(300, 1000)  # 0.2 s later: not written
    board(500, 1000)  # 1 s later: written
    assert json.loads(path.read_text()) == {
        "done": 500,
        "total": 1000,
        "at": 11.0,
        "since": [10.0, 100],
    }
    board(1000, 1000)  # the last, however soon
    assert json.loads(path.read_text())["done"] == 1000
    board.remove()
    assert not path.exists()


def test_the_page_reads_done_of_total_and_the_time_left_from_the_figures(world, messy, now):
    preview = _queue(world["admin"], messy, now)
    assert preview_figures(preview) is None  # nothing counted yet: still reading
    # 400 rows in 2 s since counting began: 200 rows/s, 600 rows to go.
    board = ProgressFile(progress_path(preview.pk), clock=iter([100.0, 102.0]).__next__)
    board(100, 1100)
    board(500, 1100)
    figures = preview_figures(preview)
    assert (figures.done, figures.total, figures.percent, figures.seconds_left) == (
        500,
        1100,
        45,
        3,
    )
    progress_path(preview.pk).write_text("{not json")
    assert preview_figures(preview) is None


def test_previews_older_than_a_day_are_forgotten_when_another_is_queued(world, messy, now):
    old = _queue(world["admin"], messy, now - dt.timedelta(days=1, minutes=1))
    fresh = _queue(world["admin"], messy, now)
    assert list(Preview.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert old.pk != fresh.pk


def test_an_upload_sealed_with_a_key_since_removed_reads_as_gone(world, messy, now, settings):
    from cryptography.fernet import Fernet

    preview = _queue(world["admin"], messy, now)
    settings.HEEDED_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert read_upload(upload_path(world["admin"].pk, preview.file_sha256)) is None
    line = preview_take(now, "worker-1")
    preview.refresh_from_db()
    assert line == f"preview {preview.pk}: the upload is gone"
    assert preview.status == PreviewStatus.FAILED
