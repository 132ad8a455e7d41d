"""Build chains through the real service, and tamper with them the way someone with
write access to the database could: lift the triggers, then run raw SQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection, transaction

from clients.models import Client
from ledger import triggers
from ledger.models import Event, Head
from ledger.services import event_append


def append(client: Client, count: int, *, now: dt.datetime, kind: str = "note") -> list[Event]:
    """Append ``count`` events to the client's chain, one transaction each."""
    events = []
    for index in range(count):
        with transaction.atomic():
            events.append(
                event_append(
                    client=client,
                    kind=kind,
                    actor="system:test",
                    at=now + dt.timedelta(minutes=index),
                    data={"n": index, "note": f"entry {index}"},
                )
            )
    return events


def event(client: Client, seq: int) -> Event:
    return Event.objects.get(client=client, seq=seq)


def tamper(sql: str, params: list[Any] | None = None) -> None:
    """Drop the append-only triggers and run ``sql``. Inside a test's transaction
    the dropped triggers come back when the test rolls back."""
    triggers.remove(connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def json_param() -> str:
    """The placeholder for a JSON value given as text, for the current database."""
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"


def set_data(client: Client, seq: int, data: dict[str, Any], *, rehash: bool = False) -> None:
    """Replace an event's data; with ``rehash``, also store its recomputed hash, as a
    careful forger would."""
    fields = f"data = {json_param()}"
    params: list[Any] = [json.dumps(data)]
    if rehash:
        forged = event(client, seq)
        forged.data = data
        fields += ", hash = %s"
        params.append(forged.compute_hash(str(client.uuid)))
    tamper(
        f"UPDATE ledger_event SET {fields} WHERE client_id = %s AND seq = %s",
        [*params, client.pk, seq],
    )


def delete_events(client: Client, *, from_seq: int, to_seq: int | None = None) -> None:
    to_seq = to_seq if to_seq is not None else from_seq
    tamper(
        "DELETE FROM ledger_event WHERE client_id = %s AND seq BETWEEN %s AND %s",
        [client.pk, from_seq, to_seq],
    )


def rewrite_head(client: Client, seq: int, digest: str | None = None) -> None:
    """Point the head at event ``seq`` (its stored hash unless ``digest`` is given)."""
    if digest is None:
        digest = event(client, seq).hash
    Head.objects.filter(client=client).update(seq=seq, hash=digest)


def recompute_from(client: Client, seq: int, data: dict[str, Any]) -> None:
    """Forge the chain wholesale: change event ``seq``'s data, then recompute every
    hash and link from there to the end, and move the head. Nothing but an anchor
    can tell."""
    uuid = str(client.uuid)
    triggers.remove(connection)
    previous = event(client, seq - 1).hash if seq > 1 else None
    for forged in Event.objects.filter(client=client, seq__gte=seq).order_by("seq"):
        if forged.seq == seq:
            forged.data = data
        if previous is not None:
            forged.prev_hash = previous
        forged.hash = forged.compute_hash(uuid)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE ledger_event SET data = {json_param()}, prev_hash = %s, hash = %s "
                "WHERE id = %s",
                [json.dumps(forged.data), forged.prev_hash, forged.hash, forged.pk],
            )
        previous = forged.hash
        last = forged
    Head.objects.filter(client=client).update(seq=last.seq, hash=last.hash)
