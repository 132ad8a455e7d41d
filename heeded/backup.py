"""One-file backups of a Heeded installation, and a restore that proves them.

A backup is a gzip'd tar archive:

- ``db/<app>.<model>.jsonl``: every row, one JSON object a line (Django's ``jsonl``
  serializer, natural keys for content types and permissions), so an archive taken
  from SQLite restores onto PostgreSQL and the other way round;
- ``evidence/...``: the files stored under ``HEEDED_DATA_DIR/evidence``, if any;
- ``manifest.json``: the SHA-256 and size of every member, the row count of every
  model and each client's ledger head.

The rows are read from one consistent snapshot: on PostgreSQL one REPEATABLE READ,
read-only transaction; on SQLite an online-backup copy of the database file (taken
page by page while the application keeps running), which is then read at leisure.

``restore_archive`` checks every hash before it touches the database, loads the rows
into an empty, migrated database in one transaction, then verifies the ledger and
compares the counts and heads with the manifest; any failure rolls everything back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.db import DatabaseError, connections, models, transaction
from django.db.utils import load_backend

FORMAT = "heeded-backup"
VERSION = 1
MANIFEST = "manifest.json"
ARCHIVE_PREFIX = "heeded-"
ARCHIVE_SUFFIX = ".tar.gz"
SNAPSHOT_ALIAS = "heeded_backup_snapshot"

# Rows that ``migrate`` creates itself (restoring them would collide) or that are
# worthless after a restore (sessions: everyone signs in again).
SKIPPED = frozenset({"contenttypes.contenttype", "auth.permission", "sessions.session"})


class BackupError(Exception):
    """The archive or the database is not fit; the message says why. Nothing changed."""


@dataclass
class RestoreResult:
    counts: dict[str, int]
    heads: dict[str, dict[str, object]]
    evidence_files: int = 0
    notes: list[str] = field(default_factory=list)


def evidence_dir() -> Path:
    return Path(settings.DATA_DIR) / "evidence"


def backed_up_models() -> list[type[models.Model]]:
    """Every concrete model, parents before the models that refer to them."""
    app_list = [(config, None) for config in apps.get_app_configs()]
    ordered = serializers.sort_dependencies(app_list, allow_cycles=True)
    return [
        m
        for m in ordered
        if m._meta.label_lower not in SKIPPED and not m._meta.proxy and m._meta.managed
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- backup ---------------------------------------------------------------------------


@contextlib.contextmanager
def _snapshot() -> Iterator[str]:
    """Yield a database alias whose reads all come from one point in time."""
    connection = connections["default"]
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield "default"
        return
    if connection.vendor != "sqlite":
        raise BackupError(f"backups support SQLite and PostgreSQL, not {connection.vendor}")
    with tempfile.TemporaryDirectory(prefix="heeded-snapshot-") as tmp:
        copy = Path(tmp) / "snapshot.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(copy)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        # A connection of its own to the copy, known to this thread only: it is not
        # added to settings.DATABASES, so nothing else can route queries to it.
        snapshot = load_backend(connection.settings_dict["ENGINE"]).DatabaseWrapper(
            {**connection.settings_dict, "NAME": str(copy)}, SNAPSHOT_ALIAS
        )
        connections[SNAPSHOT_ALIAS] = snapshot
        try:
            yield SNAPSHOT_ALIAS
        finally:
            snapshot.close()
            del connections[SNAPSHOT_ALIAS]


def create_backup(out: Path, *, now: dt.datetime) -> dict[str, object]:
    """Write the archive to ``out`` (atomically: a temporary file renamed into place);
    return its manifest."""
    from clients.models import Client
    from ledger.models import Head

    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="heeded-backup-") as tmp:
        staging = Path(tmp)
        (staging / "db").mkdir()
        counts: dict[str, int] = {}
        heads: dict[str, dict[str, object]] = {}
        with _snapshot() as alias:
            for model in backed_up_models():
                label = model._meta.label_lower
                path = staging / "db" / f"{label}.jsonl"
                rows = model._base_manager.using(alias).order_by("pk")
                counter = _Counter(rows.iterator(chunk_size=2000))
                with path.open("w", encoding="utf-8") as handle:
                    serializers.serialize(
                        "jsonl", counter, stream=handle, use_natural_foreign_keys=True
                    )
                counts[label] = counter.count
            names = dict(Client.objects.using(alias).values_list("pk", "uuid"))
            for head in Head.objects.using(alias).order_by("pk"):
                heads[str(names[head.client_id])] = {"seq": head.seq, "hash": head.hash}
        members: dict[str, dict[str, object]] = {}
        for path in sorted((staging / "db").iterdir()):
            members[f"db/{path.name}"] = {"sha256": _sha256(path), "size": path.stat().st_size}
        evidence = evidence_dir()
        evidence_files: list[tuple[str, Path]] = []
        if evidence.is_dir():
            for path in sorted(p for p in evidence.rglob("*") if p.is_file()):
                name = "evidence/" + path.relative_to(evidence).as_posix()
                members[name] = {"sha256": _sha256(path), "size": path.stat().st_size}
                evidence_files.append((name, path))
        manifest: dict[str, object] = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": now.astimezone(dt.UTC).isoformat(),
            "database": connections["default"].vendor,
            "members": members,
            "counts": counts,
            "ledger_heads": heads,
        }
        manifest_path = staging / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(manifest_path, arcname=MANIFEST)
            for name in members:
                if name.startswith("db/"):
                    archive.add(staging / name, arcname=name)
            for name, path in evidence_files:
                archive.add(path, arcname=name)
        os.replace(partial, out)
    return manifest


class _Counter:
    def __init__(self, rows: Iterator[models.Model]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[models.Model]:
        for row in self.rows:
            self.count += 1
            yield row


def rotate(directory: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest archives in ``directory``; return the deleted."""
    archives = sorted(
        p
        for p in directory.iterdir()
        if p.name.startswith(ARCHIVE_PREFIX) and p.name.endswith(ARCHIVE_SUFFIX)
    )
    doomed = archives[:-keep] if keep > 0 else archives
    for path in doomed:
        path.unlink()
    return doomed


def archive_name(now: dt.datetime) -> str:
    return f"{ARCHIVE_PREFIX}{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}{ARCHIVE_SUFFIX}"


# --- restore --------------------------------------------------------------------------


def _unpack(archive_path: Path, into: Path) -> dict[str, object]:
    """Extract and check every member against the manifest; return the manifest."""
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            names = archive.getnames()
            # The "data" filter refuses absolute paths, links out of the tree and
            # device files, so a hostile archive cannot write outside ``into``.
            archive.extractall(into, filter="data")
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise BackupError(f"The archive cannot be read: {exc}.") from None
    try:
        manifest = json.loads((into / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"The archive has no readable manifest: {exc}.") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError("The archive is not a Heeded backup of a version this release reads.")
    members: dict[str, dict[str, object]] = manifest["members"]
    unexpected = sorted(set(names) - set(members) - {MANIFEST})
    if unexpected:
        raise BackupError(f"The archive holds files the manifest does not list: {unexpected[0]}.")
    for name, meta in members.items():
        path = into / name
        if not path.is_file():
            raise BackupError(f"The archive is missing {name}.")
        if _sha256(path) != meta["sha256"]:
            raise BackupError(f"{name} does not match its hash in the manifest; refusing it.")
    return manifest


def _nonempty_tables() -> list[str]:
    held = []
    for model in backed_up_models():
        if model._base_manager.exists():
            held.append(model._meta.label_lower)
    return held


def restore_archive(archive_path: Path) -> RestoreResult:
    """Restore ``archive_path`` into the empty database; raise BackupError and change
    nothing if the archive or the restored ledger fails a check."""
    from clients.models import Client
    from ledger.models import Head
    from ledger.verify import verify_all

    with tempfile.TemporaryDirectory(prefix="heeded-restore-") as tmp:
        root = Path(tmp)
        manifest = _unpack(Path(archive_path), root)
        held = _nonempty_tables()
        if held:
            raise BackupError(
                "The database is not empty (it holds rows in "
                f"{', '.join(held[:5])}{', ...' if len(held) > 5 else ''}); restore needs an "
                "empty, migrated database: create a new one and run 'heeded migrate'."
            )
        evidence = evidence_dir()
        if evidence.is_dir() and any(p.is_file() for p in evidence.rglob("*")):
            raise BackupError(f"{evidence} is not empty; restore needs an empty evidence folder.")
        counts: dict[str, int] = manifest["counts"]
        models_by_label = {m._meta.label_lower: m for m in backed_up_models()}
        unknown = sorted(set(counts) - set(models_by_label))
        if unknown:
            raise BackupError(f"The archive holds {unknown[0]}, which this release does not know.")
        written: list[Path] = []
        try:
            with transaction.atomic():
                loaded: list[type[models.Model]] = []
                deferred = []
                for label, model in models_by_label.items():
                    path = root / "db" / f"{label}.jsonl"
                    if label not in counts or not path.exists():
                        continue
                    with path.open(encoding="utf-8") as handle:
                        for obj in serializers.deserialize(
                            "jsonl", handle, handle_forward_references=True
                        ):
                            obj.save(force_insert=True)
                            if obj.deferred_fields:
                                deferred.append(obj)
                    loaded.append(model)
                for obj in deferred:
                    obj.save_deferred_fields()
                connection = connections["default"]
                reset = connection.ops.sequence_reset_sql(no_style(), loaded)
                if reset:
                    with connection.cursor() as cursor:
                        for statement in reset:
                            cursor.execute(statement)
                _check_counts(models_by_label, counts)
                uuids = {str(u): pk for pk, u in Client.objects.values_list("pk", "uuid")}
                actual_heads = {
                    str(u): {"seq": s, "hash": h}
                    for u, s, h in Head.objects.values_list("client__uuid", "seq", "hash")
                }
                if actual_heads != manifest["ledger_heads"] or set(uuids) != set(actual_heads):
                    raise BackupError("The restored ledger heads differ from the manifest.")
                report = verify_all()
                if not report.ok:
                    raise BackupError(f"The restored ledger fails verification: {report.summary()}")
                for name in manifest["members"]:
                    if name.startswith("evidence/"):
                        target = evidence / name.removeprefix("evidence/")
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(root / name, target)
                        written.append(target)
        except (DeserializationError, DatabaseError) as exc:
            for path in written:
                path.unlink(missing_ok=True)
            raise BackupError(
                f"The archive does not fit this database ({exc}); was it written by another "
                "release? Restore with the release that wrote it, then upgrade."
            ) from None
        except Exception:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return RestoreResult(
            counts=counts, heads=manifest["ledger_heads"], evidence_files=len(written)
        )


def _check_counts(models_by_label: dict[str, type[models.Model]], counts: dict[str, int]) -> None:
    for label, expected in counts.items():
        actual = models_by_label[label]._base_manager.count()
        if actual != expected:
            raise BackupError(
                f"{label}: the archive lists {expected} rows but {actual} were restored."
            )
