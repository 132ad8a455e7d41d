"""One-file backups of a Heeded installation, and a restore that proves them.

A backup (format version 2) is a gzip'd tar archive:

- ``db/<app>.<model>.jsonl``: every row of every table, one JSON object a line, keyed
  by column (``client_id``, not ``client``). Each value is written by its own rule
  (``CODECS``) so that it comes back byte for byte on SQLite and on PostgreSQL alike:
  timestamps with six fractional digits and their offset, decimals as text, binary as
  base64, JSON values as JSON. Many-to-many tables are tables like any other; a
  reference to a content type or a permission (which ``migrate`` numbers afresh in
  every database) is written as its natural key;
- ``evidence/...``: the files stored under ``HEEDED_DATA_DIR/evidence``, if any;
- ``manifest.json``: the SHA-256 and size of every member, the columns and row count
  of every table, the schema (the last applied migration of every app) and each
  client's ledger head.

The rows are read from one consistent snapshot: on PostgreSQL one REPEATABLE READ,
read-only transaction; on SQLite an online-backup copy of the database file (taken
page by page while the application keeps running), which is then read at leisure.
Every value is decoded again as it is written and must equal what was read, and the
ledger chains are recomputed from the written files; an archive that fails either is
never left behind.

``restore_archive`` checks every hash and recomputes the chains before it touches the
database, loads the rows into an empty database migrated to the archive's schema in
one transaction, then verifies the chains read back from the database and compares
the counts and heads with the manifest; any failure rolls everything back.

The package: ``rows`` writes and reads values exactly; ``chains`` holds the schema
checks and recomputes the ledger from rows; this module backs up, checks and restores.

Version 1 archives (Django's ``jsonl`` serializer, which cuts times to milliseconds)
are still read: they restore when their ledger verifies, i.e. when no event time had
digits below the millisecond; otherwise they are refused before anything is loaded.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ObjectDoesNotExist
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.utils import load_backend

from heeded.backup.chains import (
    applied_schema,
    archived_ledger,
    check_target,
    ledger_failure,
    release_schema,
    verify_chains,
)
from heeded.backup.rows import (
    CHUNK,
    SKIPPED,
    BackupError,
    Table,
    backed_up_models,
    identical,
    logical_dump,
)
from lib.progress import Progress, silent

__all__ = [
    "SKIPPED",
    "BackupError",
    "CheckResult",
    "RestoreResult",
    "applied_schema",
    "archive_name",
    "backed_up_models",
    "check_archive",
    "create_backup",
    "database_at",
    "logical_dump",
    "nonempty_tables",
    "redact",
    "release_schema",
    "restore_archive",
    "rotate",
]


FORMAT = "heeded-backup"
VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
ARCHIVE_PREFIX = "heeded-"
ARCHIVE_SUFFIX = ".tar.gz"
SNAPSHOT_ALIAS = "heeded_backup_snapshot"


@dataclass
class RestoreResult:
    counts: dict[str, int]
    heads: dict[str, dict[str, object]]
    ledger: str = ""
    evidence_files: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    version: int
    created_at: str
    counts: dict[str, int]
    heads: dict[str, dict[str, object]]
    ledger: str
    evidence_files: int


def evidence_dir() -> Path:
    return Path(settings.DATA_DIR) / "evidence"


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
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield DEFAULT_DB_ALIAS
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


def _dump_table(table: Table, path: Path, progress: Progress) -> int:
    """Write the table's rows; prove each line decodes to exactly what was read."""
    count = 0
    rows = table.model._base_manager.using(table.alias)
    # Events in chain order, so that the chains can be recomputed in one streaming pass.
    ordering = ("client_id", "seq") if table.label == "ledger.event" else ("pk",)
    with path.open("w", encoding="utf-8") as handle:
        for obj in rows.order_by(*ordering).iterator(chunk_size=CHUNK):
            values = table.read(obj)
            try:
                line = table.encode(values)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise BackupError(f"{table.label} row {obj.pk} cannot be written: {exc}.") from None
            back = table.decode(line, f"{table.label} row {obj.pk}")
            for name, value in values.items():
                if not identical(back[name], value):
                    raise BackupError(
                        f"{table.label} row {obj.pk}: {name} would not be restored as it is "
                        f"({_short(value)} would come back as {_short(back[name])})."
                    )
            handle.write(line + "\n")
            count += 1
            progress.advance()
    return count


def _short(value: Any) -> str:
    # A blob's repr can run to megabytes; the reason must stay one readable line.
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def create_backup(
    out: Path, *, now: dt.datetime, progress: Progress | None = None
) -> dict[str, Any]:
    """Write the archive to ``out`` (atomically: a temporary file renamed into place,
    removed on any failure); return its manifest. ``progress`` counts the rows written."""
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    try:
        with tempfile.TemporaryDirectory(prefix="heeded-backup-") as tmp:
            manifest = _stage(Path(tmp), now=now, progress=progress or silent())
            with tarfile.open(partial, "w:gz") as archive:
                archive.add(Path(tmp) / MANIFEST, arcname=MANIFEST)
                for name in manifest["members"]:
                    if name.startswith("db/"):
                        archive.add(Path(tmp) / name, arcname=name)
                    else:
                        archive.add(evidence_dir() / name.removeprefix("evidence/"), arcname=name)
            os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def _stage(staging: Path, *, now: dt.datetime, progress: Progress) -> dict[str, Any]:
    """Write the tables and the manifest into ``staging``; return the manifest."""
    from clients.models import Client
    from ledger.models import Head

    (staging / "db").mkdir()
    counts: dict[str, int] = {}
    columns: dict[str, dict[str, str]] = {}
    heads: dict[str, dict[str, object]] = {}
    with _snapshot() as alias:
        schema = applied_schema(alias)
        models_ = backed_up_models()
        if progress.shown:  # a COUNT per table, only when someone watches
            progress.add_total(sum(m._base_manager.using(alias).count() for m in models_))
        for model in models_:
            table = Table(model, alias)
            columns[table.label] = table.columns
            counts[table.label] = _dump_table(
                table, staging / "db" / f"{table.label}.jsonl", progress
            )
        names = dict(Client.objects.using(alias).values_list("pk", "uuid"))
        for head in Head.objects.using(alias).order_by("pk"):
            heads[str(names[head.client_id])] = {"seq": head.seq, "hash": head.hash}
    members: dict[str, dict[str, object]] = {}
    for path in sorted((staging / "db").iterdir()):
        members[f"db/{path.name}"] = {"sha256": _sha256(path), "size": path.stat().st_size}
    evidence = evidence_dir()
    if evidence.is_dir():
        for path in sorted(p for p in evidence.rglob("*") if p.is_file()):
            name = "evidence/" + path.relative_to(evidence).as_posix()
            members[name] = {"sha256": _sha256(path), "size": path.stat().st_size}
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": now.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "database": connections[DEFAULT_DB_ALIAS].vendor,
        "schema": schema,
        "members": members,
        "counts": counts,
        "columns": columns,
        "ledger_heads": heads,
    }
    # The chains as they will be restored: recomputed from the files just written.
    report = archived_ledger(staging, manifest)
    if not report.ok:
        raise BackupError(
            f"The archive would not restore: its ledger fails verification: "
            f"{ledger_failure(report)}"
        )
    manifest["ledger"] = report.summary()
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


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


# --- reading an archive ---------------------------------------------------------------


def _unpack(archive_path: Path, into: Path) -> dict[str, Any]:
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
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("The archive is not a Heeded backup.")
    if manifest.get("version") not in READABLE_VERSIONS:
        raise BackupError(
            f"The archive is a Heeded backup of format version {manifest.get('version')!r}; "
            f"this release reads versions {', '.join(map(str, READABLE_VERSIONS))}: restore "
            "it with a newer release."
        )
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


def _tables_of(manifest: dict[str, Any], alias: str) -> list[Table]:
    """The tables to load, in load order; refuse tables or columns this release lacks."""
    tables = {m._meta.label_lower: Table(m, alias) for m in backed_up_models()}
    if manifest["version"] == 1:
        # Version 1 wrote many-to-many rows inside their parents' rows.
        tables = {k: t for k, t in tables.items() if not t.model._meta.auto_created}
    unknown = sorted(set(manifest["counts"]) - set(tables))
    if unknown:
        raise BackupError(f"The archive holds {unknown[0]}, which this release does not know.")
    for label, columns in manifest.get("columns", {}).items():
        if columns != tables[label].columns:
            raise BackupError(
                f"The archive's {label} has other columns than this release's: restore it "
                "with the release that wrote it, then upgrade."
            )
    return [t for label, t in tables.items() if label in manifest["counts"]]


def check_archive(archive_path: Path) -> CheckResult:
    """Verify an archive without loading it: member hashes, every row readable, the
    counts, and the ledger chains and heads recomputed from the archived rows."""
    with tempfile.TemporaryDirectory(prefix="heeded-check-") as tmp:
        root = Path(tmp)
        manifest = _unpack(Path(archive_path), root)
        for table in _tables_of(manifest, DEFAULT_DB_ALIAS):
            count = 0
            for line, where in table.lines(root):
                if manifest["version"] > 1:
                    table.decode(line, where)
                count += 1
            if count != manifest["counts"][table.label]:
                raise BackupError(
                    f"{table.label}: the manifest lists {manifest['counts'][table.label]} rows "
                    f"but the archive holds {count}."
                )
        report = archived_ledger(root, manifest)
        if not report.ok:
            raise BackupError(f"The archive's ledger fails verification: {ledger_failure(report)}")
        return CheckResult(
            version=manifest["version"],
            created_at=manifest["created_at"],
            counts=manifest["counts"],
            heads=manifest["ledger_heads"],
            ledger=report.summary(),
            evidence_files=sum(1 for name in manifest["members"] if name.startswith("evidence/")),
        )


# --- restore --------------------------------------------------------------------------


def nonempty_tables(alias: str) -> list[str]:
    return [
        m._meta.label_lower for m in backed_up_models() if m._base_manager.using(alias).exists()
    ]


def restore_archive(
    archive_path: Path,
    *,
    using: str = DEFAULT_DB_ALIAS,
    evidence_in_place: bool = False,
    progress: Progress | None = None,
) -> RestoreResult:
    """Restore ``archive_path`` into the empty database ``using``; raise BackupError and
    change nothing if the archive, the database or the restored ledger fails a check.

    With ``evidence_in_place`` the evidence files are not copied: they must already be
    in the evidence folder, identical (a move of the database beside the same files).
    ``progress`` counts the rows inserted.
    """
    progress = progress or silent()
    with tempfile.TemporaryDirectory(prefix="heeded-restore-") as tmp:
        root = Path(tmp)
        manifest = _unpack(Path(archive_path), root)
        check_target(using, manifest)
        tables = _tables_of(manifest, using)
        archived = archived_ledger(root, manifest)
        if not archived.ok:
            note = ""
            if manifest["version"] == 1:
                note = (
                    " (format version 1 cut times to the millisecond; take a new backup of "
                    "the original database with this release)"
                )
            raise BackupError(
                f"The archive's ledger fails verification{note}: {ledger_failure(archived)}"
            )
        held = nonempty_tables(using)
        if held:
            raise BackupError(
                "The database is not empty (it holds rows in "
                f"{', '.join(held[:5])}{', ...' if len(held) > 5 else ''}); restore needs an "
                "empty, migrated database: create a new one and run 'heeded migrate'."
            )
        evidence = [name for name in manifest["members"] if name.startswith("evidence/")]
        _check_evidence(evidence, manifest, evidence_in_place)
        # The evidence files go in place before the rows: a restore killed after this
        # leaves only files identical to the archive's, which a second run accepts, and
        # no row (the rows are one transaction).
        written = [] if evidence_in_place else _place_evidence(root, evidence)
        try:
            with transaction.atomic(using=using):
                if manifest["version"] == 1:
                    _load_v1(root, tables, using)
                else:
                    progress.add_total(sum(manifest["counts"].get(t.label, 0) for t in tables))
                    for table in tables:
                        _insert(table, root, using, progress)
                _reset_sequences(using, [t.model for t in tables])
                _check_counts(tables, manifest["counts"])
                report = _restored_ledger(using, manifest)
        except (DeserializationError, DatabaseError, ObjectDoesNotExist) as exc:
            for path in written:
                path.unlink(missing_ok=True)
            raise BackupError(
                f"The archive does not fit this database ({exc}); was it written by another "
                "release? Restore with the release that wrote it, then upgrade."
            ) from None
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return RestoreResult(
            counts=manifest["counts"],
            heads=manifest["ledger_heads"],
            ledger=report.summary(),
            evidence_files=len(evidence),
        )


def _check_evidence(names: list[str], manifest: dict[str, Any], in_place: bool) -> None:
    """Refuse an evidence folder that holds anything but the archive's own files.

    In place, every file must already be there and identical. Otherwise the folder
    must be empty, except for files identical to the archive's: what a restore killed
    before its rows committed left behind."""
    evidence = evidence_dir()
    expected = {
        evidence / name.removeprefix("evidence/"): manifest["members"][name]["sha256"]
        for name in names
    }
    if in_place:
        for path, digest in expected.items():
            if not path.is_file() or _sha256(path) != digest:
                name = "evidence/" + path.relative_to(evidence).as_posix()
                raise BackupError(f"{path} is not the file the archive holds as {name}.")
        return
    if not evidence.is_dir():
        return
    for path in evidence.rglob("*"):
        if path.is_file() and expected.get(path) != _sha256(path):
            raise BackupError(f"{evidence} is not empty; restore needs an empty evidence folder.")


def _place_evidence(root: Path, names: list[str]) -> list[Path]:
    """Copy the archive's evidence files into the evidence folder; the ones written."""
    written = []
    for name in names:
        target = evidence_dir() / name.removeprefix("evidence/")
        if target.is_file():
            continue  # identical: _check_evidence compared it
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
        written.append(target)
    return written


def _load_v1(root: Path, tables: list[Table], using: str) -> None:
    deferred = []
    for table in tables:
        path = root / "db" / f"{table.label}.jsonl"
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as handle:
            for obj in serializers.deserialize(
                "jsonl", handle, handle_forward_references=True, using=using
            ):
                obj.save(using=using, force_insert=True)
                if obj.deferred_fields:
                    deferred.append(obj)
    for obj in deferred:
        obj.save_deferred_fields(using=using)


def _insert(table: Table, root: Path, using: str, progress: Progress) -> None:
    """Insert the archived rows of one table, many per statement."""
    fields = table.model._meta.local_concrete_fields
    manager = table.model._base_manager.using(using)
    batch_size = max(1, connections[using].ops.bulk_batch_size(fields, [None] * CHUNK))
    rows = (table.instance(table.decode(line, where)) for line, where in table.lines(root))
    while batch := list(itertools.islice(rows, min(batch_size, CHUNK))):
        # raw=True is what loaddata's save(raw=True) does: no pre_save, so auto_now
        # columns keep their archived values. bulk_create would overwrite them, and
        # one save() per row spends most of a restore building SQL.
        manager._insert(batch, fields=fields, using=using, raw=True)
        progress.advance(len(batch))


def _reset_sequences(using: str, loaded: list[type[models.Model]]) -> None:
    connection = connections[using]
    reset = connection.ops.sequence_reset_sql(no_style(), loaded)
    if reset:
        with connection.cursor() as cursor:
            for statement in reset:
                cursor.execute(statement)


def _check_counts(tables: list[Table], counts: dict[str, int]) -> None:
    for table in tables:
        expected = counts[table.label]
        actual = table.model._base_manager.using(table.alias).count()
        if actual != expected:
            raise BackupError(
                f"{table.label}: the archive lists {expected} rows but {actual} were restored."
            )


def _restored_ledger(using: str, manifest: dict[str, Any]) -> Any:
    """Compare the heads with the manifest and verify the chains as read back from
    ``using``; return the LedgerReport."""
    from clients.models import Client
    from ledger.models import Anchor, Event, Head

    clients = list(Client.objects.using(using).only("pk", "uuid", "name"))
    heads = dict(
        (client_id, (seq, digest))
        for client_id, seq, digest in Head.objects.using(using).values_list(
            "client_id", "seq", "hash"
        )
    )
    uuids = {c.pk: str(c.uuid) for c in clients}
    actual = {uuids[pk]: {"seq": s, "hash": h} for pk, (s, h) in heads.items()}
    if actual != manifest["ledger_heads"]:
        raise BackupError("The restored ledger heads differ from the manifest.")
    events = Event.objects.using(using).order_by("client_id", "seq").iterator(chunk_size=CHUNK)
    report = verify_chains(clients, events, heads, Anchor.objects.using(using).order_by("pk"))
    if not report.ok:
        raise BackupError(f"The restored ledger fails verification: {ledger_failure(report)}")
    return report


# --- a second database ----------------------------------------------------------------


@contextlib.contextmanager
def database_at(url: str, alias: str) -> Iterator[str]:
    """Open the database at ``url`` as ``alias`` for the duration (for ``call_command(
    "migrate", database=alias)`` and ``restore_archive(using=alias)``), then close it."""
    try:
        config = dj_database_url.parse(url)
    except ValueError as exc:
        raise BackupError(f"{redact(url)} is not a database URL: {exc}.") from None
    # configure_settings fills in the keys Django expects of every DATABASES entry.
    config = connections.configure_settings({DEFAULT_DB_ALIAS: config})[DEFAULT_DB_ALIAS]
    # Like the snapshot: a connection known to this thread only, not added to
    # settings.DATABASES, so nothing else routes queries to it.
    connections[alias] = load_backend(config["ENGINE"]).DatabaseWrapper(config, alias)
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]


def redact(url: str) -> str:
    """The URL without its password, for printing."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"
