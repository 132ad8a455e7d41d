"""Row marks: what the tracker remembers of each row it imported, so that the same
row imported again is known after one comparison (``tracker.models.RowMark``)."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from lib.bulk import insert_rows
from recommendations.models import Recommendation
from tracker.models import RowMark
from tracker.paths import CHUNK

# Digests per mark lookup on PostgreSQL (see ``marks_of``).
MARK_LOOKUP_PG = 5000


def lookup_size() -> int:
    """How many rows' digests to look up at once."""
    return MARK_LOOKUP_PG if connection.vendor == "postgresql" else CHUNK


def marks_of(digests: list[str]) -> dict[str, tuple[int, str, dt.date, bool]]:
    """{digest: (client id, external id, date made, whether the recommendation has
    not changed since)} of the marks with those digests, a query per few hundred.

    In SQL rather than through the ORM, which prepares each of the many digests of the
    IN list through a lookup of its own: on a re-import this is most of the work."""
    quote = connection.ops.quote_name
    head = (
        f"SELECT m.digest, r.client_id, r.external_id, m.made_on, "
        f"CASE WHEN m.status = r.status AND m.updated_at = r.updated_at THEN 1 ELSE 0 END "
        f"FROM {quote(RowMark._meta.db_table)} m "
        f"JOIN {quote(Recommendation._meta.db_table)} r ON r.id = m.recommendation_id "
        "WHERE m.digest IN "
    )
    marks: dict[str, tuple[int, str, dt.date, bool]] = {}
    # PostgreSQL answers a few hundred digests with a scan of the whole mark table
    # (cheaper, it estimates, than as many index probes): ask it fewer, larger lists.
    size = lookup_size()
    with connection.cursor() as cursor:
        for start in range(0, len(digests), size):
            part = digests[start : start + size]
            cursor.execute(head + "(" + ", ".join(["%s"] * len(part)) + ")", part)
            for digest, client_id, external_id, made_on, same in cursor.fetchall():
                if isinstance(made_on, str):  # SQLite returns the ISO text
                    made_on = dt.date.fromisoformat(made_on)
                # Two recommendations with one digest cannot both be the row's.
                marks[digest] = (
                    (client_id, external_id, made_on, bool(same))
                    if digest not in marks
                    else (0, "", made_on, False)
                )
    return marks


def marks_add(fresh: list[tuple[str, dt.date, Recommendation]]) -> None:
    """Mark recommendations that have no mark yet (the batch just created them) with
    (digest, date made) and the state they hold."""
    insert_rows(
        [
            RowMark(
                recommendation_id=rec.pk,
                digest=digest,
                made_on=made_on,
                status=rec.status,
                updated_at=rec.updated_at,
            )
            for digest, made_on, rec in fresh
        ]
    )


def marks_replace(pending: dict[int, tuple[str, dt.date]]) -> None:
    """Replace the marks of the recommendations {pk: (digest, date made)} with their
    state as stored now: a few statements per few hundred."""
    pks = list(pending)
    for start in range(0, len(pks), CHUNK):
        part = pks[start : start + CHUNK]
        RowMark.objects.filter(recommendation_id__in=part).delete()
        insert_rows(
            [
                RowMark(
                    recommendation_id=pk,
                    digest=pending[pk][0],
                    made_on=pending[pk][1],
                    status=status,
                    updated_at=updated_at,
                )
                for pk, status, updated_at in Recommendation.objects.filter(
                    pk__in=part
                ).values_list("pk", "status", "updated_at")
            ]
        )
