"""A batch of events appended at once makes the very chain that appending them one by
one makes: same bodies, same hashes, same head; and it locks and writes once."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clients.models import Client
from ledger.models import GENESIS_HASH, Event, Head
from ledger.services import LedgerError, NewEvent, event_append, event_append_many
from ledger.verify import verify_client
from lib.canonical import NotCanonical, canonical_json

ROME = zoneinfo.ZoneInfo("Europe/Rome")
WORDS = st.sampled_from(
    ["Caffè Ñandú", "l'ufficio di Zoë", 'il "server"', "Ålesund\tbackup", "naïve\\path", "ok"]
)
# Any text PostgreSQL's jsonb takes: no NUL; no lone surrogate (not UTF-8, refused).
TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=20)
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), WORDS, TEXT)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS | TEXT, inner),
    max_leaves=8,
)
MOMENTS = st.datetimes(
    # hypothesis wants naive bounds; the values it draws carry the time zones below.
    min_value=dt.datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([dt.UTC, ROME, zoneinfo.ZoneInfo("America/St_Johns")]),
)
NEW_EVENTS = st.lists(
    st.builds(
        NewEvent,
        kind=st.sampled_from(["note", "recommendation.accept", "contact.added"]),
        actor=st.sampled_from(["staff:zoë", "contact:o'brien@caffè.example", "system:import"]),
        at=MOMENTS,
        data=st.dictionaries(WORDS | TEXT, JSON, max_size=4),
        recommendation_id=st.none(),
    ),
    min_size=1,
    max_size=12,
)
COLUMNS = ("seq", "kind", "at", "actor", "recommendation_id", "data", "prev_hash", "hash")


def chain_of(client) -> list[tuple]:
    rows = Event.objects.filter(client=client).order_by("seq")
    return [(*values, bytes(body)) for *values, body in rows.values_list(*COLUMNS, "body_bytes")]


def appended(client, events: list[NewEvent], *, batched: bool) -> tuple[list[tuple], tuple]:
    """The client's chain and head after appending ``events``; rolled back after."""
    with transaction.atomic():
        if batched:
            event_append_many(client=client, events=events)
        else:
            for new in events:
                event_append(
                    client=client,
                    kind=new.kind,
                    actor=new.actor,
                    at=new.at,
                    data=new.data,
                    recommendation_id=new.recommendation_id,
                )
        result = chain_of(client), Head.objects.values_list("seq", "hash").get(client=client)
        assert verify_client(client).ok
        transaction.set_rollback(True)
    return result


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(events=NEW_EVENTS)
def test_a_batch_makes_the_same_chain_as_one_by_one_appends(client_a, events):
    one_by_one = appended(client_a, events, batched=False)
    batched = appended(client_a, events, batched=True)

    assert batched == one_by_one
    chain, (head_seq, head_hash) = batched
    # And both are the chain of the specification, computed by the model's own code.
    uuid = str(client_a.uuid)
    for *values, body in chain:
        event = Event(**dict(zip(COLUMNS, values, strict=True)))
        assert body == canonical_json(event.body(uuid))
        assert event.hash == event.compute_hash(uuid)
    assert head_seq == chain[-1][0] == len(events) + 1  # after client.created
    assert head_hash == chain[-1][7]


def test_the_stored_bytes_are_the_canonical_body_the_hash_covers(client_a, now):
    with transaction.atomic():
        saved = event_append_many(
            client=client_a,
            events=[
                NewEvent(
                    kind="note",
                    actor="contact:d'angelo@caffè.example",
                    at=now.astimezone(ROME) + dt.timedelta(microseconds=7),
                    data={"nota": "l'été à Zürich", "n": 2**60},
                ),
                NewEvent(kind="note", actor="system:test", at=now, data={}),
            ],
        )

    uuid = str(client_a.uuid)
    for event in Event.objects.filter(pk__in=[e.pk for e in saved]).order_by("seq"):
        assert bytes(event.body_bytes) == canonical_json(event.body(uuid))
        assert event.hash == event.compute_hash(uuid)
    assert [e.seq for e in saved] == [2, 3]
    assert saved[1].prev_hash == saved[0].hash


def test_a_batch_locks_once_inserts_once_and_moves_the_head_once(client_a, now):
    events = [NewEvent(kind="note", actor="system:test", at=now, data={"n": n}) for n in range(50)]
    with transaction.atomic(), CaptureQueriesContext(connection) as context:
        event_append_many(client=client_a, events=events)

    statements = [q["sql"].split()[0].upper() for q in context.captured_queries]
    assert statements.count("INSERT") == 1
    assert statements.count("UPDATE") == 1
    assert len(statements) <= 4  # the head's SELECT ... FOR UPDATE, savepoints aside
    assert Head.objects.get(client=client_a).seq == 51


def test_the_first_append_of_a_client_creates_its_head(db, now):
    # Written around the services, as a restore would: no event, no head row yet.
    client = Client.objects.create(name="Studio Dell'Orto", slug="studio-dellorto", created_at=now)
    with transaction.atomic():
        first, second = event_append_many(
            client=client,
            events=[
                NewEvent(kind="note", actor="system:test", at=now, data={"n": n}) for n in (1, 2)
            ],
        )

    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert Head.objects.values_list("seq", "hash").get(client=client) == (2, second.hash)
    assert verify_client(client).ok


def test_a_batch_with_an_event_that_has_no_canonical_form_writes_nothing(client_a, now):
    before = Head.objects.values_list("seq", "hash").get(client=client_a)
    events = [
        NewEvent(kind="note", actor="system:test", at=now, data={"ok": 1}),
        NewEvent(kind="note", actor="system:test", at=now, data={"ratio": 0.5}),
    ]

    with pytest.raises(NotCanonical, match="float"), transaction.atomic():
        event_append_many(client=client_a, events=events)

    assert Head.objects.values_list("seq", "hash").get(client=client_a) == before
    assert Event.objects.filter(client=client_a).count() == 1


def test_an_empty_batch_writes_nothing(client_a, now):
    with transaction.atomic(), CaptureQueriesContext(connection) as context:
        assert event_append_many(client=client_a, events=[]) == []
    assert not [q for q in context.captured_queries if "ledger" in q["sql"]]


def test_a_batch_outside_a_transaction_is_refused(client_a, now):
    connection_ = transaction.get_connection()
    saved = connection_.in_atomic_block
    connection_.in_atomic_block = False
    try:
        with pytest.raises(LedgerError, match="must run inside the transaction"):
            event_append_many(
                client=client_a, events=[NewEvent(kind="note", actor="system:test", at=now)]
            )
    finally:
        connection_.in_atomic_block = saved
