"""Writes to the ledger. Every function here must run inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from clients.models import Client
from ledger.models import FORMAT_VERSION, GENESIS_HASH, Anchor, Event, Head
from lib.bulk import insert_rows
from lib.canonical import CanonicalJSONEncoder, canonical_json, utc_timestamp

# The canonical body ends with its two last keys in code-point order, "seq" then "v":
# everything before the seq's digits can be encoded before the lock is taken.
_SEQ_PLACEHOLDER = b'"seq":0,"v":%d}' % FORMAT_VERSION
_BODY_SUFFIX = b',"v":%d}' % FORMAT_VERSION
# Rows per INSERT statement: far below PostgreSQL's 65,535 parameters per statement.
_INSERT_BATCH = 2000


class LedgerError(Exception):
    pass


@dataclass(frozen=True)
class NewEvent:
    """One event to append: the arguments of ``event_append`` without the client."""

    kind: str
    actor: str
    at: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)
    recommendation_id: int | None = None


def _body_prefix(client_uuid: str, new: NewEvent) -> bytes:
    """The canonical body of ``new`` up to (not including) the digits of its seq.

    Raises NotCanonical for data that has no canonical form (a float, a date, ...)."""
    body = canonical_json(
        {
            "v": FORMAT_VERSION,
            "client": client_uuid,
            "seq": 0,
            "kind": new.kind,
            "at": utc_timestamp(new.at),
            "actor": new.actor,
            "recommendation": new.recommendation_id,
            "data": new.data,
        }
    )
    if not body.endswith(_SEQ_PLACEHOLDER):  # pragma: no cover - the key order is fixed
        raise LedgerError("the canonical body no longer ends with seq and v")
    return body[: -len(_SEQ_PLACEHOLDER) + len(b'"seq":')]


def _lock_head(client: Client) -> tuple[int, str]:
    """Lock the client's head row and return its (seq, hash); create it if missing.

    The head row is the append lock: appends to one client are serialised on it. A
    client's very first append creates the row with INSERT ... ON CONFLICT DO NOTHING,
    which on PostgreSQL waits for a concurrent first append's row to commit and then
    leaves it alone; the second SELECT then locks that row. On SQLite the IMMEDIATE
    transaction already holds the database's write lock.
    """
    locked = Head.objects.select_for_update().filter(client_id=client.pk)
    row = locked.values_list("seq", "hash").first()
    if row is None:
        Head.objects.bulk_create(
            [Head(client_id=client.pk, seq=0, hash=GENESIS_HASH)], ignore_conflicts=True
        )
        row = locked.values_list("seq", "hash").first()
        if row is None:  # pragma: no cover - the row was just inserted or committed
            raise LedgerError(f"no ledger head for client {client.pk}")
    return row


def event_append_many(*, client: Client, events: Sequence[NewEvent]) -> list[Event]:
    """Append ``events``, in order, to the client's chain and move its head once.

    The chain is the same, event for event and hash for hash, as calling
    ``event_append`` for each in turn; it costs one lock of the client's head, one
    INSERT (per 2,000 events) and one UPDATE of the head, whatever the number of
    events. Every body is encoded before the lock is taken, so an event that has no
    canonical form (a float in its data, a naive ``at``) raises NotCanonical with
    nothing written. Must run inside the transaction of the change the events record.
    Returns the saved events (with their ids), in order.
    """
    if not transaction.get_connection().in_atomic_block:
        raise LedgerError("event_append must run inside the transaction of the change it records")
    if not events:
        return []
    client_uuid = str(client.uuid)
    prefixes = [_body_prefix(client_uuid, new) for new in events]
    if connection.vendor == "postgresql" and len(events) == 1:
        appended = _append_one(client, events[0], prefixes[0])
        if appended is not None:
            return [appended]

    head_seq, prev_hash = _lock_head(client)
    rows = []
    for seq, (new, prefix) in enumerate(zip(events, prefixes, strict=True), start=head_seq + 1):
        body = prefix + str(seq).encode("ascii") + _BODY_SUFFIX
        digest = hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()
        rows.append(
            Event(
                client=client,
                seq=seq,
                kind=new.kind,
                at=new.at,
                actor=new.actor,
                recommendation_id=new.recommendation_id,
                data=new.data,
                prev_hash=prev_hash,
                hash=digest,
                body_bytes=body,
            )
        )
        prev_hash = digest
    if connection.vendor == "postgresql" and len(rows) <= _INSERT_BATCH:
        _insert_and_move_head(client, rows)
    else:
        insert_rows(rows, returning_ids=True)
        Head.objects.filter(client_id=client.pk).update(seq=rows[-1].seq, hash=prev_hash)
    return rows


def _insert_and_move_head(client: Client, rows: list[Event]) -> None:
    """On PostgreSQL: insert the events and move the head in one statement, so the
    lock is held for one round trip fewer."""
    values = []
    params: list[Any] = [rows[-1].seq, rows[-1].hash, client.pk]
    for row in rows:
        values.append("(%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)")
        params += [
            client.pk,
            row.seq,
            row.kind,
            row.at,
            row.actor,
            row.recommendation_id,
            json.dumps(row.data, cls=CanonicalJSONEncoder),
            row.prev_hash,
            row.hash,
            row.body_bytes,
        ]
    sql = (
        "WITH moved AS (UPDATE ledger_head SET seq = %s, hash = %s WHERE client_id = %s) "
        "INSERT INTO ledger_event (client_id, seq, kind, at, actor, recommendation_id, data, "
        f"prev_hash, hash, body_bytes) VALUES {', '.join(values)} RETURNING id, seq"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = dict((seq, pk) for pk, seq in cursor.fetchall())
    for row in rows:
        row.pk = ids[row.seq]
        row._state.adding = False
        row._state.db = connection.alias


# One statement, on PostgreSQL, for one event: lock the head row, build the body from
# the head's seq, hash it (SHA-256 of the same bytes, computed by the server), insert
# the event and move the head. The lock is then held for that statement and the
# commit, without a round trip to the application in between. It inserts nothing for
# a client without a head row yet: its first append takes the general path.
_APPEND_ONE = """
WITH head AS (
    SELECT seq, hash FROM ledger_head WHERE client_id = %(client)s FOR UPDATE
), new AS (
    SELECT head.seq + 1 AS seq, head.hash AS prev_hash,
           %(prefix)s::bytea || convert_to((head.seq + 1)::text, 'UTF8') || %(suffix)s::bytea
               AS body
    FROM head
), hashed AS (
    SELECT new.*, encode(sha256(convert_to(new.prev_hash, 'UTF8') || new.body), 'hex') AS hash
    FROM new
), moved AS (
    UPDATE ledger_head SET seq = hashed.seq, hash = hashed.hash
    FROM hashed WHERE ledger_head.client_id = %(client)s
)
INSERT INTO ledger_event (client_id, seq, kind, at, actor, recommendation_id, data, prev_hash,
                          hash, body_bytes)
SELECT %(client)s, seq, %(kind)s, %(at)s, %(actor)s, %(recommendation)s, %(data)s::jsonb,
       prev_hash, hash, body
FROM hashed
RETURNING id, seq, prev_hash, hash, body_bytes
"""


def _append_one(client: Client, new: NewEvent, prefix: bytes) -> Event | None:
    """Append ``new`` in one statement (PostgreSQL); None if the client has no head."""
    params: dict[str, Any] = {
        "client": client.pk,
        "prefix": prefix,
        "suffix": _BODY_SUFFIX,
        "kind": new.kind,
        "at": new.at,
        "actor": new.actor,
        "recommendation": new.recommendation_id,
        "data": json.dumps(new.data, cls=CanonicalJSONEncoder),
    }
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_ONE, params)
        row = cursor.fetchone()
    if row is None:
        return None
    pk, seq, prev_hash, digest, body = row
    event = Event(
        pk=pk,
        client=client,
        seq=seq,
        kind=new.kind,
        at=new.at,
        actor=new.actor,
        recommendation_id=new.recommendation_id,
        data=new.data,
        prev_hash=prev_hash,
        hash=digest,
        body_bytes=bytes(body),
    )
    event._state.adding = False
    event._state.db = connection.alias
    return event


def event_append(
    *,
    client: Client,
    kind: str,
    actor: str,
    at: dt.datetime,
    data: dict[str, Any],
    recommendation_id: int | None = None,
) -> Event:
    """Append one event to the client's chain and move its head."""
    new = NewEvent(kind=kind, actor=actor, at=at, data=data, recommendation_id=recommendation_id)
    return event_append_many(client=client, events=[new])[0]


def anchor_record(*, client: Client, at: dt.datetime, purpose: str, reference: str = "") -> Anchor:
    """Record the client's current head as having left the system; return the anchor."""
    with transaction.atomic():
        head = Head.objects.filter(client=client).first()
        seq, digest = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        return Anchor.objects.create(
            client=client, seq=seq, hash=digest, created_at=at, purpose=purpose, reference=reference
        )
