"""Appending builds a valid chain and moves the head, inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.db import transaction

from ledger.models import GENESIS_HASH, Anchor, Event, Head
from ledger.services import LedgerError, anchor_record, event_append
from ledger.tests.helpers import append
from ledger.verify import verify_client


def test_appended_events_form_a_chain_from_the_genesis_hash(client_a, now):
    append(client_a, 4, now=now)

    events = list(Event.objects.filter(client=client_a).order_by("seq"))
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].kind == "client.created"
    assert events[0].prev_hash == GENESIS_HASH
    for previous, current in itertools.pairwise(events):
        assert current.prev_hash == previous.hash
    for e in events:
        assert e.hash == e.compute_hash(str(client_a.uuid))
    head = Head.objects.get(client=client_a)
    assert (head.seq, head.hash) == (5, events[-1].hash)
    assert verify_client(client_a).ok


def test_each_client_has_its_own_chain(client_a, client_b, now):
    append(client_a, 2, now=now)

    assert Event.objects.get(client=client_b, seq=1).prev_hash == GENESIS_HASH
    assert Head.objects.get(client=client_b).seq == 1
    assert Head.objects.get(client=client_a).seq == 3


def test_an_event_appended_in_a_rolled_back_change_leaves_no_trace(client_a, now):
    before = Head.objects.get(client=client_a)

    with pytest.raises(RuntimeError), transaction.atomic():
        event_append(client=client_a, kind="note", actor="system:test", at=now, data={})
        raise RuntimeError("the change it recorded failed")

    assert Event.objects.filter(client=client_a).count() == 1
    head = Head.objects.get(client=client_a)
    assert (head.seq, head.hash) == (before.seq, before.hash)


def test_appending_outside_a_transaction_is_refused(client_a, now, django_db_blocker):
    # pytest-django wraps the test in a transaction; leave it to see the refusal.
    connection = transaction.get_connection()
    saved = connection.in_atomic_block
    connection.in_atomic_block = False
    try:
        with pytest.raises(LedgerError, match="must run inside the transaction"):
            event_append(client=client_a, kind="note", actor="system:test", at=now, data={})
    finally:
        connection.in_atomic_block = saved
    assert Event.objects.filter(client=client_a).count() == 1


def test_data_without_a_canonical_form_is_refused_and_nothing_is_stored(client_a, now):
    from lib.canonical import NotCanonical

    with pytest.raises(NotCanonical, match="float"), transaction.atomic():
        event_append(
            client=client_a, kind="note", actor="system:test", at=now, data={"amount": 9.99}
        )

    assert Event.objects.filter(client=client_a).count() == 1
    assert Head.objects.get(client=client_a).seq == 1


def test_an_anchor_records_the_current_head(client_a, now):
    append(client_a, 2, now=now)
    head = Head.objects.get(client=client_a)

    anchor = anchor_record(
        client=client_a, at=now + dt.timedelta(hours=1), purpose="qbr-report", reference="Q1"
    )

    assert (anchor.seq, anchor.hash) == (3, head.hash)
    assert Anchor.objects.filter(client=client_a).count() == 1
