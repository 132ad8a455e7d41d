"""One-file backups of a Heeded installation, and a restore that proves them.

A backup (format version 2) is a gzip'd tar archive:

- ``db/<app>.<model>.jsonl``: every row of every table, one JSON object a line, keyed
  by column (``client_id``, not ``client``). Each value is written by its own rule
  (``_CODECS``) so that it comes back byte for byte on SQLite and on PostgreSQL alike:
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

Version 1 archives (Django's ``jsonl`` serializer, which cuts times to milliseconds)
are still read: they restore when their ledger verifies, i.e. when no event time had
digits below the millisecond; otherwise they are refused before anything is loaded.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dj_database_url
from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.color import no_style
from django.core.serializers.base import DeserializationError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction
from django.db.migrations.loader import MigrationLoader
from django.db.utils import load_backend

FORMAT = "heeded-backup"
VERSION = 2
READABLE_VERSIONS = (1, 2)
MANIFEST = "manifest.json"
ARCHIVE_PREFIX = "heeded-"
ARCHIVE_SUFFIX = ".tar.gz"
SNAPSHOT_ALIAS = "heeded_backup_snapshot"
CHUNK = 2000

# Rows that ``migrate`` creates itself (restoring them would collide) or that are
# worthless after a restore (sessions: everyone signs in again).
SKIPPED = frozenset({"contenttypes.contenttype", "auth.permission", "sessions.session"})


class BackupError(Exception):
    """The archive or the database is not fit; the message says why. Nothing changed."""


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


def backed_up_models() -> list[type[models.Model]]:
    """Every concrete table, parents before the tables that refer to them, then the
    many-to-many tables."""
    app_list = [(config, None) for config in apps.get_app_configs()]
    ordered = serializers.sort_dependencies(app_list, allow_cycles=True)
    through = [m for m in apps.get_models(include_auto_created=True) if m._meta.auto_created]
    return [
        m
        for m in [*ordered, *through]
        if m._meta.label_lower not in SKIPPED and not m._meta.proxy and m._meta.managed
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- values ---------------------------------------------------------------------------


def _encode_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return value.isoformat(timespec="microseconds")


def _decode_datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return value


def _same(value: Any) -> Any:
    return value


def _expect(kind: type | tuple[type, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        # bool is an int in Python, but a boolean column restored as 1 is not the same.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
            raise ValueError(f"expected {kind}, got {value!r}")
        return value

    return check


# kind -> (encode, decode). Each pair must be exact: decode(encode(v)) == v, same type.
_CODECS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "int": (_expect(int), _expect(int)),
    "bool": (_expect(bool), _expect(bool)),
    "text": (_expect(str), _expect(str)),
    "float": (_expect(float), _expect(float)),
    "uuid": (str, uuid.UUID),
    "datetime": (_encode_datetime, _decode_datetime),
    "date": (dt.date.isoformat, dt.date.fromisoformat),
    "time": (lambda v: v.isoformat(timespec="microseconds"), dt.time.fromisoformat),
    "decimal": (str, decimal.Decimal),
    "duration": (lambda v: v // dt.timedelta(microseconds=1), lambda n: dt.timedelta(0, 0, n)),
    "binary": (
        lambda v: base64.b64encode(bytes(v)).decode("ascii"),
        lambda s: base64.b64decode(s, validate=True),
    ),
    "json": (_same, _same),
}

_KINDS = {
    "AutoField": "int",
    "BigAutoField": "int",
    "SmallAutoField": "int",
    "IntegerField": "int",
    "BigIntegerField": "int",
    "SmallIntegerField": "int",
    "PositiveIntegerField": "int",
    "PositiveBigIntegerField": "int",
    "PositiveSmallIntegerField": "int",
    "BooleanField": "bool",
    "CharField": "text",
    "TextField": "text",
    "SlugField": "text",
    "EmailField": "text",
    "GenericIPAddressField": "text",
    "FloatField": "float",
    "UUIDField": "uuid",
    "DateTimeField": "datetime",
    "DateField": "date",
    "TimeField": "time",
    "DecimalField": "decimal",
    "DurationField": "duration",
    "BinaryField": "binary",
    "JSONField": "json",
}
NATURAL_KEY = "natural-key"


def column_kind(field: models.Field) -> str:
    """How a column's values are written: a key of ``_CODECS``, or ``natural-key`` for a
    reference to a row that ``migrate`` creates (a content type, a permission)."""
    if field.is_relation:
        if field.related_model._meta.label_lower in SKIPPED:
            return NATURAL_KEY
        return column_kind(field.target_field)
    kind = _KINDS.get(field.get_internal_type())
    if kind is None:
        raise BackupError(
            f"{field.model._meta.label_lower}.{field.name}: heeded backup does not know how "
            f"to write a {field.get_internal_type()} exactly."
        )
    return kind


def columns_of(model: type[models.Model]) -> dict[str, str]:
    """Column name -> kind, in the model's field order."""
    return {f.attname: column_kind(f) for f in model._meta.concrete_fields}


def _identical(a: Any, b: Any) -> bool:
    """Equal and of the same type all the way down (1, 1.0 and True are not the same
    JSON value), with the same UTC offset for times."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_identical(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dt.datetime | dt.time):
        return a == b and a.utcoffset() == b.utcoffset()
    if isinstance(a, decimal.Decimal):
        return a.as_tuple() == b.as_tuple()
    return a == b


class _Table:
    """Writes and reads the rows of one table in the archive's form."""

    def __init__(self, model: type[models.Model], alias: str) -> None:
        self.model = model
        self.label = model._meta.label_lower
        self.alias = alias
        self.columns = columns_of(model)
        self.fields = {f.attname: f for f in model._meta.concrete_fields}
        self._keys: dict[tuple[str, Any], Any] = {}

    def _natural_key(self, name: str, pk: Any) -> list[str]:
        if (name, pk) not in self._keys:
            target = self.fields[name].related_model
            row = target._base_manager.using(self.alias).get(pk=pk)
            self._keys[name, pk] = list(row.natural_key())
        return self._keys[name, pk]

    def _pk_of(self, name: str, key: list[str]) -> Any:
        if (name, tuple(key)) not in self._keys:
            target = self.fields[name].related_model
            manager = target._default_manager.db_manager(self.alias)
            self._keys[name, tuple(key)] = manager.get_by_natural_key(*key).pk
        return self._keys[name, tuple(key)]

    def read(self, obj: models.Model) -> dict[str, Any]:
        """The row's values as Python objects (binary as bytes, references by key)."""
        values = {}
        for name, kind in self.columns.items():
            value = getattr(obj, name)
            if value is not None and kind == NATURAL_KEY:
                value = self._natural_key(name, value)
            elif isinstance(value, memoryview):
                value = bytes(value)
            values[name] = value
        return values

    def encode(self, values: dict[str, Any]) -> str:
        row = {}
        for name, kind in self.columns.items():
            value = values[name]
            if value is not None and kind != NATURAL_KEY:
                value = _CODECS[kind][0](value)
            row[name] = value
        return json.dumps(
            row, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )

    def decode(self, line: str, where: str) -> dict[str, Any]:
        """The values of one archived line; references by natural key stay keys."""
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise BackupError(f"{where}: not a JSON object ({exc}).") from None
        if not isinstance(row, dict) or row.keys() != self.columns.keys():
            raise BackupError(f"{where}: the row's columns are not the table's columns.")
        values = {}
        for name, kind in self.columns.items():
            value = row[name]
            if value is not None and kind == NATURAL_KEY:
                if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                    raise BackupError(f"{where}: {name} is not a natural key.")
            elif value is not None:
                try:
                    value = _CODECS[kind][1](value)
                except (TypeError, ValueError, ArithmeticError) as exc:
                    raise BackupError(f"{where}: {name} is not a valid {kind} ({exc}).") from None
            values[name] = value
        return values

    def instance(self, values: dict[str, Any]) -> models.Model:
        """An unsaved model instance holding the values, keys resolved in ``alias``."""
        resolved = dict(values)
        for name, kind in self.columns.items():
            if kind == NATURAL_KEY and values[name] is not None:
                resolved[name] = self._pk_of(name, values[name])
        return self.model(**resolved)

    def lines(self, root: Path) -> Iterator[tuple[str, str]]:
        """(line, where) for every row of this table in an unpacked archive."""
        path = root / "db" / f"{self.label}.jsonl"
        if not path.exists():
            return
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                yield line, f"db/{self.label}.jsonl line {number}"


def logical_dump(alias: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    """Every row of every archived table of ``alias``, as the archive writes it, in
    primary-key order: two databases holding the same data give equal dumps."""
    dump = {}
    for model in backed_up_models():
        table = _Table(model, alias)
        rows = model._base_manager.using(alias).order_by("pk").iterator(chunk_size=CHUNK)
        dump[table.label] = [table.encode(table.read(obj)) for obj in rows]
    return dump


# --- schema ---------------------------------------------------------------------------


def applied_schema(alias: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    """The last applied migration(s) of every app in ``alias`` (one, unless two branches
    were applied without a merge); empty when the database was never migrated."""
    loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
    applied = {key for key in loader.applied_migrations if key in loader.graph.nodes}
    leaves: dict[str, list[str]] = {}
    for app, name in sorted(applied):
        children = loader.graph.node_map[app, name].children
        if not any(child in applied and child[0] == app for child in children):
            leaves.setdefault(app, []).append(name)
    return leaves


def release_schema() -> dict[str, list[str]]:
    """The last migration of every app in this release's code."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaves: dict[str, list[str]] = {}
    for app, name in sorted(loader.graph.leaf_nodes()):
        leaves.setdefault(app, []).append(name)
    return leaves


def _first_difference(ours: dict[str, list[str]], theirs: dict[str, list[str]]) -> str:
    for app in sorted(set(ours) | set(theirs)):
        if ours.get(app) != theirs.get(app):
            mine = ", ".join(ours.get(app, [])) or "nothing"
            other = ", ".join(theirs.get(app, [])) or "nothing"
            return f"{app} is at {mine}, the archive at {other}"
    return ""


def _check_target(alias: str, manifest: dict[str, Any]) -> None:
    """Refuse a target that is not migrated to this release's schema, or an archive
    written at another schema."""
    target = applied_schema(alias)
    release = release_schema()
    if not target:
        raise BackupError(
            "The database is not migrated: run 'heeded migrate' on it, then restore again."
        )
    if target != release:
        app = next(a for a in sorted(set(target) | set(release)) if target.get(a) != release.get(a))
        raise BackupError(
            f"The database is not migrated to this release's schema ({app} is at "
            f"{', '.join(target.get(app, [])) or 'nothing'}, this release at "
            f"{', '.join(release.get(app, [])) or 'nothing'}): run 'heeded migrate' on it, "
            "then restore again."
        )
    archived = manifest.get("schema")
    if archived is not None and archived != target:
        raise BackupError(
            f"The archive was written at another schema ({_first_difference(target, archived)}"
            "): restore it with the release that wrote it, then upgrade."
        )


# --- the ledger, recomputed from rows -------------------------------------------------


def _verify_chains(
    clients: Iterable[Any],
    events: Iterator[Any],
    heads: dict[int, tuple[int, str]],
    anchors: Iterable[Any],
) -> Any:
    """Verify every client's chain from rows (archived, or read back from a database)
    with the very walk that ``heeded ledger verify`` makes; return its LedgerReport.
    ``events`` must come in (client, seq) order."""
    from ledger.verify import AnchorClaim, LedgerReport, _stored_anchor_source, _walk

    claims: dict[int, dict[int, list[Any]]] = {}
    for anchor in anchors:
        claim = AnchorClaim(seq=anchor.seq, hash=anchor.hash, source=_stored_anchor_source(anchor))
        claims.setdefault(anchor.client_id, {}).setdefault(anchor.seq, []).append(claim)
    report = LedgerReport()
    groups = itertools.groupby(events, key=lambda event: event.client_id)
    pending = next(groups, None)
    for client in sorted(clients, key=lambda c: c.pk):
        if pending is not None and pending[0] < client.pk:
            raise BackupError(f"ledger.event holds events of client id {pending[0]} out of order.")
        has_events = pending is not None and pending[0] == client.pk
        rows: Iterator[Any] = pending[1] if has_events else iter(())
        head = heads.get(client.pk)
        by_seq = claims.get(client.pk, {})
        count = sum(len(c) for c in by_seq.values())
        report.add(_walk(client, _with_head(rows, head), by_seq, count, head))
        if has_events:
            # Only now: moving the groupby on ends the group the walk was reading.
            pending = next(groups, None)
    if pending is not None:
        raise BackupError(f"ledger.event holds events of client id {pending[0]} out of order.")
    return report


def _with_head(rows: Iterator[Any], head: tuple[int, str] | None) -> Iterator[Any]:
    # The walk reads the head from each event, as verify_client's query annotates it.
    for event in rows:
        event.head_seq, event.head_hash = head if head is not None else (None, None)
        yield event


def _archived_ledger(root: Path, manifest: dict[str, Any]) -> Any:
    """Recompute the chains from the rows of an unpacked archive; check the head rows
    against the manifest. Return the LedgerReport."""
    from clients.models import Client
    from ledger.models import Anchor, Event, Head

    if manifest["version"] == 1:
        loaded = {m: list(_v1_objects(root, m)) for m in (Client, Event, Head, Anchor)}
        clients, heads_rows, anchors = loaded[Client], loaded[Head], loaded[Anchor]
        events: Iterator[Any] = iter(sorted(loaded[Event], key=lambda e: (e.client_id, e.seq)))
    else:
        clients = [Client(**v) for v in _archived_values(root, Client)]
        heads_rows = [Head(**v) for v in _archived_values(root, Head)]
        anchors = [Anchor(**v) for v in _archived_values(root, Anchor)]
        events = (Event(**v) for v in _archived_values(root, Event))
    heads = {h.client_id: (h.seq, h.hash) for h in heads_rows}
    uuids = {c.pk: str(c.uuid) for c in clients}
    by_uuid = {uuids.get(pk, str(pk)): {"seq": s, "hash": h} for pk, (s, h) in heads.items()}
    if by_uuid != manifest["ledger_heads"]:
        raise BackupError("The archive's ledger heads differ from its manifest.")
    return _verify_chains(clients, events, heads, anchors)


def _archived_values(root: Path, model: type[models.Model]) -> Iterator[dict[str, Any]]:
    table = _Table(model, DEFAULT_DB_ALIAS)
    for line, where in table.lines(root):
        yield table.decode(line, where)


def _v1_objects(root: Path, model: type[models.Model]) -> Iterator[models.Model]:
    """The rows of a version 1 file as unsaved instances, read without a database:
    references written as natural keys (the account owner, ...) are left out, as the
    ledger check does not need them."""
    path = root / "db" / f"{model._meta.label_lower}.jsonl"
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                row = json.loads(line)
                values = {model._meta.pk.attname: model._meta.pk.to_python(row["pk"])}
                for name, value in row["fields"].items():
                    field = model._meta.get_field(name)
                    if field.many_to_many or (isinstance(value, list) and field.is_relation):
                        continue
                    target = field.target_field if field.is_relation else field
                    values[field.attname] = None if value is None else target.to_python(value)
            except (ValueError, KeyError, TypeError, LookupError, ValidationError) as exc:
                raise BackupError(f"{path.name} line {number} cannot be read ({exc}).") from None
            yield model(**values)


def _ledger_failure(report: Any) -> str:
    return f"{report.summary()}; first: {report.failures[0].line()}"


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


def _dump_table(table: _Table, path: Path) -> int:
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
                if not _identical(back[name], value):
                    raise BackupError(
                        f"{table.label} row {obj.pk}: {name} would not be restored as it is "
                        f"({value!r} would come back as {back[name]!r})."
                    )
            handle.write(line + "\n")
            count += 1
    return count


def create_backup(out: Path, *, now: dt.datetime) -> dict[str, Any]:
    """Write the archive to ``out`` (atomically: a temporary file renamed into place,
    removed on any failure); return its manifest."""
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    try:
        with tempfile.TemporaryDirectory(prefix="heeded-backup-") as tmp:
            manifest = _stage(Path(tmp), now=now)
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


def _stage(staging: Path, *, now: dt.datetime) -> dict[str, Any]:
    """Write the tables and the manifest into ``staging``; return the manifest."""
    from clients.models import Client
    from ledger.models import Head

    (staging / "db").mkdir()
    counts: dict[str, int] = {}
    columns: dict[str, dict[str, str]] = {}
    heads: dict[str, dict[str, object]] = {}
    with _snapshot() as alias:
        schema = applied_schema(alias)
        for model in backed_up_models():
            table = _Table(model, alias)
            columns[table.label] = table.columns
            counts[table.label] = _dump_table(table, staging / "db" / f"{table.label}.jsonl")
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
    report = _archived_ledger(staging, manifest)
    if not report.ok:
        raise BackupError(
            f"The archive would not restore: its ledger fails verification: "
            f"{_ledger_failure(report)}"
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


def _tables_of(manifest: dict[str, Any], alias: str) -> list[_Table]:
    """The tables to load, in load order; refuse tables or columns this release lacks."""
    tables = {m._meta.label_lower: _Table(m, alias) for m in backed_up_models()}
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
        report = _archived_ledger(root, manifest)
        if not report.ok:
            raise BackupError(f"The archive's ledger fails verification: {_ledger_failure(report)}")
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
    archive_path: Path, *, using: str = DEFAULT_DB_ALIAS, evidence_in_place: bool = False
) -> RestoreResult:
    """Restore ``archive_path`` into the empty database ``using``; raise BackupError and
    change nothing if the archive, the database or the restored ledger fails a check.

    With ``evidence_in_place`` the evidence files are not copied: they must already be
    in the evidence folder, identical (a move of the database beside the same files).
    """
    with tempfile.TemporaryDirectory(prefix="heeded-restore-") as tmp:
        root = Path(tmp)
        manifest = _unpack(Path(archive_path), root)
        _check_target(using, manifest)
        tables = _tables_of(manifest, using)
        archived = _archived_ledger(root, manifest)
        if not archived.ok:
            note = ""
            if manifest["version"] == 1:
                note = (
                    " (format version 1 cut times to the millisecond; take a new backup of "
                    "the original database with this release)"
                )
            raise BackupError(
                f"The archive's ledger fails verification{note}: {_ledger_failure(archived)}"
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
        written: list[Path] = []
        try:
            with transaction.atomic(using=using):
                if manifest["version"] == 1:
                    _load_v1(root, tables, using)
                else:
                    for table in tables:
                        _insert(table, root, using)
                _reset_sequences(using, [t.model for t in tables])
                _check_counts(tables, manifest["counts"])
                report = _restored_ledger(using, manifest)
                if not evidence_in_place:
                    for name in evidence:
                        target = evidence_dir() / name.removeprefix("evidence/")
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(root / name, target)
                        written.append(target)
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
    evidence = evidence_dir()
    if in_place:
        for name in names:
            path = evidence / name.removeprefix("evidence/")
            if not path.is_file() or _sha256(path) != manifest["members"][name]["sha256"]:
                raise BackupError(f"{path} is not the file the archive holds as {name}.")
    elif evidence.is_dir() and any(p.is_file() for p in evidence.rglob("*")):
        raise BackupError(f"{evidence} is not empty; restore needs an empty evidence folder.")


def _load_v1(root: Path, tables: list[_Table], using: str) -> None:
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


def _insert(table: _Table, root: Path, using: str) -> None:
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


def _reset_sequences(using: str, loaded: list[type[models.Model]]) -> None:
    connection = connections[using]
    reset = connection.ops.sequence_reset_sql(no_style(), loaded)
    if reset:
        with connection.cursor() as cursor:
            for statement in reset:
                cursor.execute(statement)


def _check_counts(tables: list[_Table], counts: dict[str, int]) -> None:
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
    report = _verify_chains(clients, events, heads, Anchor.objects.using(using).order_by("pk"))
    if not report.ok:
        raise BackupError(f"The restored ledger fails verification: {_ledger_failure(report)}")
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
