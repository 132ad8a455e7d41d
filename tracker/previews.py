"""The preview of an uploaded sheet as work for the worker, with progress on the page.

A preview is a dry run of ``tracker_import``: every row read and checked, nothing
written. On a sheet of tens of thousands of rows that takes long enough that the
upload page must not wait for it inside the request. So the page stores the upload,
queues a ``Preview`` row and shows its progress; ``heeded worker`` takes the row
(``preview_take``, registered in ``TrackerConfig.ready``), runs the dry run, and
writes the report into the row in one update. A small sheet is previewed at once in
the request, through the same function, so it shows no progress page at all.

Progress cannot travel through the database while the run is going: the dry run is
one transaction from start to end (on SQLite it holds the one write lock), so a
figure written beside it would be invisible until it ends, and rolled back with it.
The figures go to a small file beside the upload instead, in ``HEEDED_DATA_DIR``,
which every web process and worker already share (the upload waits there for the
confirmation).

The upload itself is a client's data at rest: it is stored encrypted with the
installation's keys (``lib.crypto``) and read back through ``read_upload``. It lives a
day at most, so ``heeded keys rotate`` leaves it alone; one sealed with a key since
removed reads as gone ("upload the file again").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_noop

from accounts.models import User
from accounts.permissions import Capability, require
from lib import crypto
from tracker.columns import parse_mappings
from tracker.models import Preview, PreviewStatus
from tracker.reader import UnreadableFile
from tracker.services import ImportReport, RowError, tracker_import

log = logging.getLogger("heeded.tracker")

PREVIEW_JOB = "tracker-preview"
# Uploads up to this size are previewed in the request: some hundreds of CSV rows, a
# couple of thousand XLSX rows, a second or two. Larger ones go to the worker and the
# page shows their progress.
INLINE_BYTES = 64 * 1024
UPLOAD_LIFETIME_SECONDS = 24 * 3600
# A preview that failed this many times (its worker died each time) is given up.
MAX_ATTEMPTS = 3
# The figures are written at most this often (seconds): the page asks once a second.
PROGRESS_INTERVAL = 0.5

# Kept in English in the row; the page translates them when it shows them.
STALE = gettext_noop("That preview is no longer valid; upload the file again.")
NOT_ALLOWED = gettext_noop("Your account may no longer import.")
GAVE_UP = gettext_noop("its worker stopped each time")


def _folder() -> Path:
    folder = Path(settings.DATA_DIR) / "tracker-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_path(user_id: int, token: str) -> Path:
    """Where an upload waits between its preview and its confirmation, per user; the
    token is the file's SHA-256, so a confirmation imports exactly the file that was
    previewed. Files there older than a day (previews never confirmed, figures of
    finished runs) are removed on the way."""
    folder = _folder()
    stale = time.time() - UPLOAD_LIFETIME_SECONDS
    for old in folder.iterdir():
        if old.stat().st_mtime < stale:
            old.unlink(missing_ok=True)
    return folder / f"{user_id}-{token}"


def store_upload(path: Path, data: bytes) -> None:
    """Keep ``data`` at ``path``, encrypted, written whole or not at all."""
    partial = path.with_suffix(".partial")
    partial.write_bytes(crypto.encrypt(data))
    os.replace(partial, path)


def read_upload(path: Path) -> bytes | None:
    """The plain bytes of the upload kept at ``path``; None when it is gone (removed
    after a day, or sealed with a key no longer configured)."""
    try:
        return crypto.decrypt(path.read_bytes())
    except (FileNotFoundError, crypto.InvalidToken):
        return None


def progress_path(preview_id: int) -> Path:
    return _folder() / f"preview-{preview_id}.progress.json"


# --- the live figures --------------------------------------------------------------


class ProgressFile:
    """The ``progress(done, total)`` callback of a running preview: writes the figures
    (and when counting started, for the rate) to ``path``, at most every ``interval``
    seconds and always the last, replacing the file whole so a reader never sees half."""

    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.time, interval: float = 0.5
    ) -> None:
        self.path = path
        self.clock = clock
        self.interval = interval
        self.first: tuple[float, int] | None = None
        self.written_at: float | None = None

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.first is None:
            self.first = (now, done)
        due = self.written_at is None or now - self.written_at >= self.interval
        if not due and done < total:
            return
        figures = {"done": done, "total": total, "at": now, "since": self.first}
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(figures), encoding="utf-8")
        os.replace(partial, self.path)
        self.written_at = now

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclasses.dataclass(frozen=True)
class Figures:
    """What the progress bar shows: rows checked of how many, and about how long is
    left (None until the rate is known)."""

    done: int
    total: int
    seconds_left: int | None

    @property
    def minutes_left(self) -> int:
        return -(-(self.seconds_left or 0) // 60)

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0


def preview_figures(preview: Preview) -> Figures | None:
    """The running preview's latest figures, or None while it is still reading the
    file (or queued)."""
    try:
        data = json.loads(progress_path(preview.pk).read_text(encoding="utf-8"))
        done, total, at = int(data["done"]), int(data["total"]), float(data["at"])
        since, since_done = float(data["since"][0]), int(data["since"][1])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    left = None
    if done > since_done and at > since:
        rate = (done - since_done) / (at - since)
        left = max(1, round((total - done) / rate))
    return Figures(done=done, total=total, seconds_left=left if done < total else None)


# --- the report, kept in the row ----------------------------------------------------


def report_json(report: ImportReport) -> dict[str, Any]:
    """The report as the row keeps it. Without ``outcomes``: the page never shows
    them, and on a large sheet they would be megabytes."""
    data = dataclasses.asdict(report)
    data.pop("outcomes", None)
    return data


def report_from_json(data: dict[str, Any]) -> ImportReport:
    names = {f.name for f in dataclasses.fields(ImportReport)}
    values = {key: value for key, value in data.items() if key in names}
    values["errors"] = [RowError(**error) for error in values.get("errors", [])]
    values["defaults"] = [tuple(item) for item in values.get("defaults", [])]
    values["choosable"] = [tuple(item) for item in values.get("choosable", [])]
    return ImportReport(**values)


# --- queue, take, run -----------------------------------------------------------------


def preview_list_for(user: User) -> QuerySet[Preview]:
    """The previews ``user`` may see: their own, whoever else is signed in."""
    return Preview.objects.filter(owner=user) if user.is_authenticated else Preview.objects.none()


def preview_queue(
    *,
    owner: User,
    data: bytes,
    filename: str,
    now: dt.datetime,
    token: str,
    sheet: str = "",
    skip_invalid: bool = False,
    create_missing: bool = False,
    mapping: str = "",
    worker: str = "",
) -> Preview:
    """Store the upload (if it is not stored already) and queue its preview. With
    ``worker`` the preview is run here and now, claimed by that name, and returned
    finished; otherwise it waits for ``heeded worker``. Previews older than a day go,
    as their uploads do. Raise PermissionDenied for a read-only account."""
    require(owner, Capability.WRITE)
    path = upload_path(owner.pk, token)
    Preview.objects.filter(
        created_at__lt=now - dt.timedelta(seconds=UPLOAD_LIFETIME_SECONDS)
    ).delete()
    if not path.is_file():
        store_upload(path, data)
    claimed = {
        "status": PreviewStatus.RUNNING,
        "claimed_by": worker[:100],
        "started_at": now,
        "lease_until": now + dt.timedelta(seconds=settings.HEEDED_JOB_LEASE_SECONDS),
        "attempts": 1,
    }
    preview = Preview.objects.create(
        owner=owner,
        file_sha256=token,
        filename=filename[:255],
        size=len(data),
        sheet=sheet,
        skip_invalid=skip_invalid,
        create_missing=create_missing,
        mapping=mapping,
        created_at=now,
        **(claimed if worker else {}),
    )
    if worker:
        _run(preview, now=now, data=data)
        preview.refresh_from_db()
    return preview


def _claimable(now: dt.datetime) -> Q:
    return Q(status=PreviewStatus.QUEUED) | Q(status=PreviewStatus.RUNNING, lease_until__lt=now)


def preview_take(now: dt.datetime, worker: str) -> str | None:
    """The worker's step: claim the oldest queued preview (or one whose worker died)
    and run it; a line for the worker's log, or None when none was waiting."""
    candidate = (
        Preview.objects.filter(_claimable(now))
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
    if candidate is None:
        return None
    lease_until = now + dt.timedelta(seconds=settings.HEEDED_JOB_LEASE_SECONDS)
    # The conditional update is the claim: of two workers, one changes the row.
    if not Preview.objects.filter(_claimable(now), pk=candidate).update(
        status=PreviewStatus.RUNNING,
        claimed_by=worker[:100],
        started_at=now,
        lease_until=lease_until,
        attempts=F("attempts") + 1,
    ):
        return "taken by another worker"
    preview = Preview.objects.select_related("owner").get(pk=candidate)
    if preview.attempts > MAX_ATTEMPTS:
        _finish(preview, now=now, status=PreviewStatus.FAILED, error=GAVE_UP)
        return f"preview {preview.pk} given up after {MAX_ATTEMPTS} attempts"
    data = read_upload(upload_path(preview.owner_id, preview.file_sha256))
    if data is None:
        _finish(preview, now=now, status=PreviewStatus.FAILED, error=STALE)
        return f"preview {preview.pk}: the upload is gone"
    try:
        _run(preview, now=now, data=data)
    except DatabaseError:
        raise  # the worker reconnects; the preview is taken over after its lease
    except Exception as exc:
        log.exception("preview %s failed", preview.pk)
        _finish(preview, now=now, status=PreviewStatus.FAILED, error=type(exc).__name__)
        return f"preview {preview.pk} failed: {type(exc).__name__}"
    preview.refresh_from_db()
    return f"preview {preview.pk} of {preview.filename}: {preview.status}"


def _run(preview: Preview, *, now: dt.datetime, data: bytes) -> None:
    board = ProgressFile(progress_path(preview.pk), interval=PROGRESS_INTERVAL)
    try:
        report = tracker_import(
            source=data,
            filename=preview.filename,
            actor=preview.owner,
            now=now,
            dry_run=True,
            sheet=preview.sheet or None,
            skip_invalid=preview.skip_invalid,
            create_missing=preview.create_missing,
            mapping=parse_mappings(preview.mapping.splitlines()) if preview.mapping else None,
            progress=board,
        )
    except UnreadableFile as exc:
        field = "sheet" if "sheet" in str(exc) and preview.sheet else "file"
        _finish(
            preview, now=now, status=PreviewStatus.UNREADABLE, error=str(exc), error_field=field
        )
    except PermissionDenied:
        _finish(preview, now=now, status=PreviewStatus.FAILED, error=NOT_ALLOWED)
    else:
        _finish(preview, now=now, status=PreviewStatus.DONE, result=report_json(report))
    finally:
        board.remove()


def _finish(preview: Preview, *, now: dt.datetime, status: str, **outcome: Any) -> bool:
    """Write the outcome if the run is still ours; False when another worker took it
    over (its own run writes the same report)."""
    return bool(
        Preview.objects.filter(
            pk=preview.pk,
            status=PreviewStatus.RUNNING,
            claimed_by=preview.claimed_by,
            attempts=preview.attempts,
        ).update(status=status, finished_at=now, **outcome)
    )


def previews_forget(*, owner: User, token: str) -> int:
    """Delete ``owner``'s previews of the file ``token`` (once it is imported); how
    many went."""
    deleted, _ = Preview.objects.filter(owner=owner, file_sha256=token).delete()
    return deleted
