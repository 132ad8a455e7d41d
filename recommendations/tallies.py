"""Maintained counters of recommendations: the dashboard's numbers without counting.

Two tables hold them (``models.StatusTally``: per client, status and severity;
``models.PresentedTally``: over all clients, per status, severity and UTC day of
presentation). ``track`` moves one recommendation from the counters of what it was
to those of what it is; ``recommendations.services`` calls it in the transaction of
every creation and transition, so a counter never commits without the change it
counts, nor a change without its counter. Each move is one upsert per table (two
rows: minus one on the old key, plus one on the new), written as ``INSERT ... ON
CONFLICT DO UPDATE``, which SQLite and PostgreSQL both run, and which two
transactions changing different recommendations of one client serialise on the
counter row instead of racing on its creation.

Anything that writes recommendations around the services (the bench's set-based
fill) calls ``rebuild`` afterwards; ``heeded counters rebuild`` does the same from
the shell and ``heeded counters check`` compares the counters with a recount.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate

from recommendations.models import PresentedTally, Recommendation, StatusTally


@dataclasses.dataclass(frozen=True)
class TallyKey:
    """What the counters know of one recommendation."""

    client_id: int
    status: str
    severity: str
    presented_on: dt.date | None


def key_of(rec: Recommendation) -> TallyKey:
    presented = rec.presented_at.astimezone(dt.UTC).date() if rec.presented_at else None
    return TallyKey(rec.client_id, rec.status, rec.severity, presented)


def _upsert(table: str, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    q = connection.ops.quote_name
    names = ", ".join(q(c) for c in [*columns, "n"])
    one = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    sql = (
        f"INSERT INTO {q(table)} ({names}) VALUES {', '.join([one] * len(rows))} "
        f"ON CONFLICT ({', '.join(q(c) for c in columns)}) "
        f"DO UPDATE SET {q('n')} = {q(table)}.{q('n')} + excluded.{q('n')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])


def track(before: TallyKey | None, after: TallyKey | None) -> None:
    """Move one recommendation's count from ``before`` (None: it is new) to ``after``.

    Runs in the caller's transaction; a key that did not change writes nothing."""
    if before == after:
        return
    track_many([(before, after)])


# Rows per upsert statement: well under SQLite's and PostgreSQL's bound parameters.
_CHUNK = 500


def track_many(moves: Iterable[tuple[TallyKey | None, TallyKey | None]]) -> None:
    """``track`` for many recommendations at once (a batch of the lifecycle): the
    moves are summed per counter first, so each counter row is written once."""
    status_rows: Counter[tuple[Any, ...]] = Counter()
    presented_rows: Counter[tuple[Any, ...]] = Counter()
    for before, after in moves:
        if before == after:
            continue
        for key, delta in ((before, -1), (after, 1)):
            if key is None:
                continue
            status_rows[(key.client_id, key.status, key.severity)] += delta
            if key.presented_on is not None:
                presented_rows[(key.status, key.severity, key.presented_on)] += delta
    status = [(*k, d) for k, d in status_rows.items() if d]
    presented = [(*k, d) for k, d in presented_rows.items() if d]
    for start in range(0, len(status), _CHUNK):
        _upsert(
            StatusTally._meta.db_table,
            ["client_id", "status", "severity"],
            status[start : start + _CHUNK],
        )
    for start in range(0, len(presented), _CHUNK):
        _upsert(
            PresentedTally._meta.db_table,
            ["status", "severity", "presented_on"],
            presented[start : start + _CHUNK],
        )


def recount() -> tuple[dict[tuple[int, str, str], int], dict[tuple[str, str, dt.date], int]]:
    """The counters as a full count of the recommendations would give them (the slow
    GROUP BY the tables replace): the reference ``rebuild`` writes and ``check`` uses."""
    by_client = {
        (row["client_id"], row["status"], row["severity"]): row["n"]
        for row in Recommendation.objects.order_by()
        .values("client_id", "status", "severity")
        .annotate(n=Count("id"))
    }
    by_day = {
        (row["status"], row["severity"], row["day"]): row["n"]
        for row in Recommendation.objects.filter(presented_at__isnull=False)
        .order_by()
        .annotate(day=TruncDate("presented_at", tzinfo=dt.UTC))
        .values("status", "severity", "day")
        .annotate(n=Count("id"))
    }
    return by_client, by_day


def stored() -> tuple[dict[tuple[int, str, str], int], dict[tuple[str, str, dt.date], int]]:
    """The counters as stored, rows of zero left out (comparable with ``recount``)."""
    by_client = {
        (c, s, sev): n
        for c, s, sev, n in StatusTally.objects.exclude(n=0).values_list(
            "client_id", "status", "severity", "n"
        )
    }
    by_day = {
        (s, sev, day): n
        for s, sev, day, n in PresentedTally.objects.exclude(n=0).values_list(
            "status", "severity", "presented_on", "n"
        )
    }
    return by_client, by_day


def differences() -> list[str]:
    """Every counter that differs from a recount, described; empty when all agree."""
    wanted, have = recount(), stored()
    out = []
    pairs: tuple[tuple[str, dict[Any, int], dict[Any, int]], ...] = (
        ("status", wanted[0], have[0]),
        ("presented", wanted[1], have[1]),
    )
    for name, want, got in pairs:
        for key in sorted(set(want) | set(got), key=str):
            if want.get(key, 0) != got.get(key, 0):
                out.append(f"{name} {key}: stored {got.get(key, 0)}, counted {want.get(key, 0)}")
    return out


def rebuild() -> tuple[int, int]:
    """Replace both tables by a recount, in one transaction; returns their row counts.

    Locks the tables' rows by deleting them first, so a transition running meanwhile
    waits and then adds its move to the rebuilt numbers (PostgreSQL); SQLite has one
    writer at a time anyway."""
    with transaction.atomic():
        by_client, by_day = recount()
        StatusTally.objects.all().delete()
        PresentedTally.objects.all().delete()
        StatusTally.objects.bulk_create(
            [
                StatusTally(client_id=c, status=s, severity=sev, n=n)
                for (c, s, sev), n in by_client.items()
            ],
            batch_size=1000,
        )
        PresentedTally.objects.bulk_create(
            [
                PresentedTally(status=s, severity=sev, presented_on=day, n=n)
                for (s, sev, day), n in by_day.items()
            ],
            batch_size=1000,
        )
    return len(by_client), len(by_day)
