"""What an archive and its target must agree on: the schema, and the ledger chains
recomputed from rows (archived, or read back from a restored database) with the very
walk that ``heeded ledger verify`` makes."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.migrations.loader import MigrationLoader

from heeded.backup.rows import BackupError, Table

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


def check_target(alias: str, manifest: dict[str, Any]) -> None:
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


def verify_chains(
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


def archived_ledger(root: Path, manifest: dict[str, Any]) -> Any:
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
    return verify_chains(clients, events, heads, anchors)


def _archived_values(root: Path, model: type[models.Model]) -> Iterator[dict[str, Any]]:
    table = Table(model, DEFAULT_DB_ALIAS)
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


def ledger_failure(report: Any) -> str:
    return f"{report.summary()}; first: {report.failures[0].line()}"
