"""The database keeps every stored body in agreement with its event's columns, so the
verifier can hash the stored bodies without comparing them row by row; and when that
guard is missing or rewritten, verification compares them again (docs/ledger.md §7).
Migration 0004 brings an existing ledger under the guard (docs/ledger.md §12)."""

from __future__ import annotations

import importlib
import json
from types import SimpleNamespace

import pytest
from django.db import DatabaseError, connection, transaction

from clients.models import Client
from heeded.testing import requires_postgres
from ledger import triggers, verify
from ledger.models import GENESIS_HASH, Event, Head
from ledger.services import anchor_record, event_append
from ledger.tests.helpers import append, event, json_param, set_data, tamper
from ledger.verify import AnchorClaim, Reason, agreement_guarded, verify_all, verify_client
from lib.canonical import canonical_json

migration_0004 = importlib.import_module("ledger.migrations.0004_stored_body_agrees_with_columns")


@pytest.fixture
def chain(client_a, now):
    append(client_a, 4, now=now)
    return client_a


@pytest.fixture
def thorough_walk_forbidden(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the thorough walk ran")

    monkeypatch.setattr(verify, "_walk_events", refuse)


def canonical_body(client, seq: int) -> bytes:
    return canonical_json(event(client, seq).body(str(client.uuid)))


def test_an_untouched_chain_is_proved_by_the_fast_pass(chain, thorough_walk_forbidden):
    assert agreement_guarded()

    report = verify_client(chain)

    assert report.ok and report.events == 5
    assert (report.head_seq, report.head_hash) == (5, event(chain, 5).hash)


def kept(client, *seqs: int) -> list[AnchorClaim]:
    return [
        AnchorClaim(
            seq=seq,
            hash=event(client, seq).hash if seq else GENESIS_HASH,
            source="command-line anchor",
        )
        for seq in seqs
    ]


def test_anchors_are_checked_by_the_fast_pass(chain, now, thorough_walk_forbidden):
    anchor_record(client=chain, at=now, purpose="qbr-report")

    report = verify_client(chain, extra_anchors=kept(chain, 0, 2, 2, 4))

    assert report.ok and report.anchors == 5


def test_a_wrong_anchor_after_right_ones_falls_back_to_the_walk_that_names_it(chain):
    wrong = AnchorClaim(seq=4, hash="a" * 64, source="command-line anchor")

    report = verify_client(chain, extra_anchors=[*kept(chain, 0, 2), wrong])

    assert (report.bad_seq, report.reason) == (4, Reason.DIFFERS_FROM_ANCHOR)


def test_a_body_that_differs_from_its_columns_cannot_be_stored(chain, now):
    last = event(chain, 5)
    forged = Event(
        client=chain,
        seq=6,
        kind="note",
        at=now,
        actor="system:test",
        data={"n": 6, "note": "what the columns say"},
        prev_hash=last.hash,
    )
    body = canonical_json({**forged.body(str(chain.uuid)), "data": {"n": 6, "note": "other"}})
    forged.body_bytes = body

    with pytest.raises(DatabaseError), transaction.atomic():
        forged.save()

    assert not Event.objects.filter(client=chain, seq=6).exists()


def test_a_chain_moved_to_another_client_is_caught_under_the_guard(chain, now):
    # The guard does not cover the client: whoever lifts the append-only triggers can
    # move a whole chain to another client and put every guard back.
    other = Client.objects.create(name="Other", slug="other", created_at=now)
    head = Head.objects.get(client=chain)
    tamper("UPDATE ledger_event SET client_id = %s WHERE client_id = %s", [other.pk, chain.pk])
    Head.objects.create(client=other, seq=head.seq, hash=head.hash)
    triggers.install(connection)
    assert agreement_guarded()

    report = verify_client(other)

    assert (report.bad_seq, report.reason) == (1, Reason.HASH_MISMATCH)


@requires_postgres
def test_the_guard_cannot_be_put_back_over_an_edited_column(chain):
    set_data(chain, 3, {"n": 1, "note": "entry 1 (edited)"})

    with pytest.raises(DatabaseError, match=triggers.AGREEMENT), transaction.atomic():
        triggers.install(connection)

    assert not agreement_guarded()
    assert verify_client(chain).reason == Reason.HASH_MISMATCH


def rewritten_guard() -> None:
    """Put back a guard of the same name that checks nothing."""
    triggers.install_append_only(connection)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                f"ALTER TABLE ledger_event ADD CONSTRAINT {triggers.AGREEMENT} CHECK (true)"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER {triggers.AGREEMENT} BEFORE INSERT ON ledger_event "
                "WHEN 0 BEGIN SELECT RAISE(ABORT, 'never'); END"
            )


def test_a_column_edited_under_a_rewritten_guard_is_a_hash_mismatch(chain):
    set_data(chain, 3, {"n": 1, "note": "entry 1 (edited)"})
    rewritten_guard()

    assert not agreement_guarded()
    report = verify_client(chain)
    assert (report.bad_seq, report.reason) == (3, Reason.HASH_MISMATCH)


def test_a_thorough_verification_compares_the_columns_even_under_the_guard(chain):
    # On SQLite whoever can write the file can lift the triggers, edit a column and
    # put the very same triggers back; --thorough still sees the edit.
    set_data(chain, 3, {"n": 1, "note": "entry 1 (edited)"})
    if connection.vendor == "sqlite":
        triggers.install(connection)
        assert agreement_guarded()

    result = verify_all(thorough=True)

    assert [(r.bad_seq, r.reason) for r in result.failures] == [(3, Reason.HASH_MISMATCH)]


# --- migration 0004 on a ledger that was used before it ------------------------------


def as_before_0003(client, seq: int) -> None:
    """Make event ``seq`` look as an event appended before body_bytes existed: no
    stored body, and (on SQLite) its data in Django's default JSON text."""
    data = event(client, seq).data
    tamper(
        f"UPDATE ledger_event SET body_bytes = NULL, data = {json_param()} "
        "WHERE client_id = %s AND seq = %s",
        [json.dumps(data), client.pk, seq],
    )


def run_migration_0004() -> None:
    migration_0004.forward(None, SimpleNamespace(connection=connection))


def test_migration_0004_gives_old_events_their_stored_body_and_the_guard(
    chain, client_b, now, thorough_walk_forbidden
):
    append(chain, 1, now=now, kind="è ñandú")
    for seq in (1, 2, 6):
        as_before_0003(chain, seq)
    tamper(
        "UPDATE ledger_event SET body_bytes = %s WHERE client_id = %s AND seq = 4",
        [b'{"forged": "copy"}', chain.pk],
    )
    assert not agreement_guarded()

    run_migration_0004()

    assert agreement_guarded()
    stored = dict(Event.objects.filter(client=chain).values_list("seq", "body_bytes"))
    assert {seq: bytes(body) for seq, body in stored.items()} == {
        seq: canonical_body(chain, seq) for seq in range(1, 7)
    }
    # Both chains are proved by the fast pass (the thorough walk is forbidden here).
    assert verify_all().ok


def test_migration_0004_keeps_an_edited_column_a_hash_mismatch(chain):
    as_before_0003(chain, 2)
    set_data(chain, 3, {"n": 1, "note": "entry 1 (edited)"})

    run_migration_0004()

    assert agreement_guarded()
    report = verify_client(chain)
    assert (report.bad_seq, report.reason) == (3, Reason.HASH_MISMATCH)


def test_migration_0004_leaves_no_copy_for_columns_without_a_canonical_form(chain):
    set_data(chain, 2, {"n": 0.5})

    run_migration_0004()

    assert event(chain, 2).body_bytes is None
    report = verify_client(chain)
    assert (report.bad_seq, report.reason) == (2, Reason.HASH_MISMATCH)
    assert "float" in report.message


def test_the_guard_accepts_every_character_the_canonical_form_escapes(
    client_a, now, thorough_walk_forbidden
):
    # The SQLite trigger rebuilds the body with json_quote: it must escape exactly as
    # canonical JSON does, or the guard would refuse genuine events.
    text = "".join(chr(c) for c in range(1, 0x80)) + "è\u2028\u2029\ufeff😀"
    escaped = "".join(chr(c) for c in range(1, 0x20)) + '"\\/\x7f\u2028'  # fits a kind
    with transaction.atomic():
        event_append(
            client=client_a,
            kind=f"note {escaped}",
            actor=f"system:{text}",
            at=now.replace(microsecond=0),
            data={"text": text, text: [text]},
        )

    assert verify_client(client_a).ok
