"""The database itself refuses to change or remove events (docs/ledger.md §8), and a
refused statement changes nothing."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from heeded.testing import requires_postgres
from ledger.models import Event, Head
from ledger.tests.helpers import append, json_param
from ledger.verify import verify_client


@pytest.fixture
def chain(client_a, now):
    append(client_a, 2, now=now)
    return client_a


def snapshot(client) -> list[tuple]:
    return list(
        Event.objects.filter(client=client)
        .order_by("seq")
        .values_list("seq", "kind", "data", "prev_hash", "hash")
    )


def refused(sql: str, params: list | None = None) -> None:
    """Run ``sql`` and expect the triggers to refuse it (in a savepoint, so the test's
    transaction survives the error on PostgreSQL)."""
    with (
        pytest.raises(DatabaseError, match="ledger events are append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params or [])


def test_an_update_is_refused_and_changes_nothing(chain):
    before = snapshot(chain)

    refused(
        f"UPDATE ledger_event SET data = {json_param()} WHERE client_id = %s AND seq = 2",
        ['{"forged": true}', chain.pk],
    )
    refused("UPDATE ledger_event SET kind = 'forged' WHERE client_id = %s", [chain.pk])

    assert snapshot(chain) == before
    assert verify_client(chain).ok


def test_an_update_through_the_orm_is_refused(chain):
    before = snapshot(chain)

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.filter(client=chain, seq=3).update(actor="staff:nobody")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        forged = Event.objects.get(client=chain, seq=3)
        forged.data = {"forged": True}
        forged.save()

    assert snapshot(chain) == before


def test_a_delete_is_refused_and_changes_nothing(chain):
    before = snapshot(chain)

    refused("DELETE FROM ledger_event WHERE client_id = %s AND seq = 3", [chain.pk])
    refused("DELETE FROM ledger_event")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Event.objects.filter(client=chain).delete()

    assert snapshot(chain) == before
    assert Head.objects.get(client=chain).seq == 3
    assert verify_client(chain).ok


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_truncate_is_refused_on_postgresql_and_changes_nothing(chain):
    # Committed rows, as in production: inside the transaction that inserted them,
    # PostgreSQL refuses TRUNCATE earlier, for the pending foreign-key checks.
    before = snapshot(chain)

    refused("TRUNCATE ledger_event CASCADE")

    assert snapshot(chain) == before
    assert verify_client(chain).ok


@requires_postgres
def test_postgresql_reports_the_refused_operation(chain):
    with (
        pytest.raises(DatabaseError, match=r"append-only \(DELETE refused\)"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM ledger_event WHERE client_id = %s", [chain.pk])


def test_inserting_new_events_is_still_allowed(chain, now):
    append(chain, 1, now=now)

    assert Event.objects.filter(client=chain).count() == 4
