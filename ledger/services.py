"""Writes to the ledger. Every function here must run inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, transaction

from clients.models import Client
from ledger.models import GENESIS_HASH, Anchor, Event, Head


class LedgerError(Exception):
    pass


def _lock_head(client: Client) -> Head:
    # Appends to one client are serialised. On PostgreSQL a transaction-scoped
    # advisory lock also covers the very first append (no head row to lock yet);
    # on SQLite the IMMEDIATE transaction already holds the database write lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x4845, client.pk])
    head = Head.objects.select_for_update().filter(client=client).first()
    if head is None:
        head = Head.objects.create(client=client, seq=0, hash=GENESIS_HASH)
    return head


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
    if not transaction.get_connection().in_atomic_block:
        raise LedgerError("event_append must run inside the transaction of the change it records")
    head = _lock_head(client)
    event = Event(
        client=client,
        seq=head.seq + 1,
        kind=kind,
        at=at,
        actor=actor,
        recommendation_id=recommendation_id,
        data=data,
        prev_hash=head.hash,
    )
    event.hash = event.compute_hash(str(client.uuid))
    event.save(force_insert=True)
    Head.objects.filter(pk=head.pk).update(seq=event.seq, hash=event.hash)
    return event


def anchor_record(*, client: Client, at: dt.datetime, purpose: str, reference: str = "") -> Anchor:
    """Record the client's current head as having left the system; return the anchor."""
    with transaction.atomic():
        head = Head.objects.filter(client=client).first()
        seq, digest = (head.seq, head.hash) if head else (0, GENESIS_HASH)
        return Anchor.objects.create(
            client=client, seq=seq, hash=digest, created_at=at, purpose=purpose, reference=reference
        )
