"""The stored copy of each event's canonical body (``Event.body_bytes``), made to agree
with the event's columns for the rows written before the database enforced it.

Used once, by migration 0004, before the guard that enforces the agreement on every
write is installed (ledger/triggers.py). The columns are the truth, as the
specification says: a row without a copy gets the body encoded from its columns, a
row whose copy says something else gets it replaced by that body. Neither touches a
column or a hash, so an event whose columns were altered still fails verification
(its hash no longer matches the body of its columns), and a forged copy is simply
discarded. A row whose columns have no canonical form (a float in its data) keeps no
copy; the verifier encodes it, and reports it, from its columns.
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

from ledger.verify import body_of_columns
from lib.canonical import NotCanonical

PAGE = 2000
_UTC_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
_PG_PAGE = f"""
SELECT e.id, c.uuid::text, e.seq, e.kind, to_char(e.at AT TIME ZONE 'UTC', '{_UTC_FORMAT}'),
       e.actor, e.recommendation_id, e.data::text, e.body_bytes
FROM ledger_event e JOIN clients_client c ON c.id = e.client_id
WHERE e.id > %s ORDER BY e.id LIMIT {PAGE}
"""
_SQLITE_PAGE = f"""
SELECT e.id, c.uuid, e.seq, e.kind, CAST(e.at AS TEXT), e.actor, e.recommendation_id,
       e.data, e.body_bytes
FROM ledger_event e JOIN clients_client c ON c.id = e.client_id
WHERE e.id > %s ORDER BY e.id LIMIT {PAGE}
"""


def body_from_columns(row: tuple[Any, ...]) -> bytes | None:
    """The canonical body of a row (uuid, seq, kind, at text, actor, recommendation,
    data text), or None when its columns have no canonical form."""
    client_uuid, *columns = row
    try:
        return body_of_columns(str(uuid_module.UUID(str(client_uuid))), *columns)
    except (NotCanonical, TypeError, ValueError):
        return None


def align_stored_bodies(connection: BaseDatabaseWrapper) -> int:
    """Give every event the stored body of its columns; return how many rows changed.

    The caller lifts the append-only guards around it (a migration, in its
    transaction). One pass over the table, a page of ids at a time."""
    sql = _PG_PAGE if connection.vendor == "postgresql" else _SQLITE_PAGE
    changed = 0
    last_id = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last_id])
            page = cursor.fetchall()
            if not page:
                return changed
            last_id = page[-1][0]
            updates = []
            for row in page:
                stored = None if row[8] is None else bytes(row[8])
                body = body_from_columns(row[1:8])
                if body != stored:
                    updates.append((body, row[0]))
            if updates:
                cursor.executemany("UPDATE ledger_event SET body_bytes = %s WHERE id = %s", updates)
                changed += len(updates)
