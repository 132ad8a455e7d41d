"""Verification names the first bad event and why, for every way a chain can be
altered by someone with write access to the database (docs/ledger.md §7)."""

from __future__ import annotations

import datetime as dt
import hashlib
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.models import GENESIS_HASH, Anchor, Event, Head
from ledger.services import anchor_record
from ledger.tests.helpers import (
    append,
    delete_events,
    event,
    recompute_from,
    rewrite_head,
    set_data,
    tamper,
)
from ledger.verify import (
    AnchorClaim,
    BadAnchor,
    Reason,
    parse_anchor,
    verify_all,
    verify_client,
)
from lib.canonical import canonical_json


@pytest.fixture
def chain(client_a, now):
    """Client A with a chain of five events (client.created and four notes)."""
    append(client_a, 4, now=now)
    return client_a


def test_an_untouched_chain_verifies(chain):
    report = verify_client(chain)

    assert report.ok
    assert report.reason is None and report.bad_seq is None
    assert (report.events, report.anchors) == (5, 0)
    assert report.line() == f'ok: client "Acme Dental" (id {chain.pk}): 5 events, 0 anchors'
    assert (report.head_seq, report.head_hash) == (5, event(chain, 5).hash)


def test_a_changed_payload_is_a_hash_mismatch_at_that_event(chain):
    set_data(chain, 3, {"n": 1, "note": "entry 1 (edited)"})

    report = verify_client(chain)

    assert not report.ok
    assert (report.bad_seq, report.reason) == (3, Reason.HASH_MISMATCH)
    assert report.events == 2
    assert report.line() == (
        f'FAIL: client "Acme Dental" (id {chain.pk}): event 3: '
        "hash mismatch: stored hash differs from the recomputed hash"
    )


def test_a_payload_that_has_no_canonical_form_is_a_hash_mismatch(chain):
    set_data(chain, 2, {"n": 0.5})

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (2, Reason.HASH_MISMATCH)
    assert "cannot be hashed" in report.message
    assert "float" in report.message


def test_a_rehashed_event_breaks_the_link_of_the_next_one(chain):
    set_data(chain, 2, {"n": 0, "note": "forged"}, rehash=True)

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (3, Reason.BROKEN_LINK)
    assert report.message == "broken link: prev_hash is not the hash of event 2"


def test_a_first_event_not_linked_to_the_genesis_hash_is_a_broken_link(chain):
    tamper(
        "UPDATE ledger_event SET prev_hash = %s WHERE client_id = %s AND seq = 1",
        ["1" * 64, chain.pk],
    )

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (1, Reason.BROKEN_LINK)
    assert "genesis" in report.message


def test_a_deleted_event_in_the_middle_is_a_gap(chain):
    delete_events(chain, from_seq=3)

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (3, Reason.GAP)
    assert report.message == "gap: event 3 is missing (the next stored event is 4)"


def test_a_cut_tail_is_caught_by_the_head_row(chain):
    delete_events(chain, from_seq=4, to_seq=5)

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (4, Reason.SHORTER_THAN_HEAD)
    assert report.message == (
        "chain shorter than head: the head is at seq 5 but the last event is 3"
    )


def test_a_cut_tail_with_a_rewritten_head_is_caught_by_a_stored_anchor(chain, now):
    anchor = anchor_record(client=chain, at=now, purpose="qbr-report")
    delete_events(chain, from_seq=4, to_seq=5)
    rewrite_head(chain, 3)

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (4, Reason.SHORTER_THAN_ANCHOR)
    assert report.message == (
        f"chain shorter than anchor: anchor #{anchor.pk} (qbr-report, 2026-03-02) is at "
        "seq 5 but the last event is 3"
    )


def test_a_cut_tail_with_a_rewritten_head_passes_without_an_anchor_but_not_with_one(chain):
    kept = event(chain, 5).hash  # what the client holds from an e-mail
    delete_events(chain, from_seq=4, to_seq=5)
    rewrite_head(chain, 3)

    assert verify_client(chain).ok
    report = verify_client(
        chain, extra_anchors=[AnchorClaim(seq=5, hash=kept, source="command-line anchor")]
    )
    assert (report.bad_seq, report.reason) == (4, Reason.SHORTER_THAN_ANCHOR)
    assert "command-line anchor is at seq 5" in report.message


def test_a_wholesale_recomputed_chain_is_caught_only_by_an_anchor(chain, now):
    anchor_record(client=chain, at=now, purpose="confirmation-email")  # at seq 5
    append(chain, 2, now=now + dt.timedelta(days=1))
    recompute_from(chain, 2, {"n": 0, "note": "history rewritten"})

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (5, Reason.DIFFERS_FROM_ANCHOR)
    assert report.message.startswith("chain differs from anchor: anchor #")
    # Every link and hash is consistent: without the anchor nothing shows.
    Anchor.objects.filter(client=chain).delete()
    assert verify_client(chain).ok


def test_a_head_with_another_hash_is_reported(chain):
    rewrite_head(chain, 5, "e" * 64)

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (5, Reason.HEAD_DIFFERS)


def test_events_beyond_the_head_are_reported(chain):
    rewrite_head(chain, 3)

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (4, Reason.BEYOND_HEAD)


def test_a_missing_head_row_is_reported(chain):
    Head.objects.filter(client=chain).delete()

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (1, Reason.HEAD_MISSING)


def test_a_client_without_events_or_head_verifies(client_a):
    tamper("DELETE FROM ledger_event WHERE client_id = %s", [client_a.pk])
    Head.objects.filter(client=client_a).delete()

    assert verify_client(client_a).ok


def test_an_anchor_at_seq_zero_must_hold_the_genesis_hash(chain):
    genesis = AnchorClaim(seq=0, hash=GENESIS_HASH, source="command-line anchor")
    other = AnchorClaim(seq=0, hash="a" * 64, source="command-line anchor")

    assert verify_client(chain, extra_anchors=[genesis]).ok
    report = verify_client(chain, extra_anchors=[other])
    assert (report.bad_seq, report.reason) == (0, Reason.DIFFERS_FROM_ANCHOR)


def test_a_matching_anchor_passes_and_is_counted(chain, now):
    anchor_record(client=chain, at=now, purpose="qbr-report")
    claim = AnchorClaim(seq=2, hash=event(chain, 2).hash, source="command-line anchor")

    report = verify_client(chain, extra_anchors=[claim])

    assert report.ok
    assert report.anchors == 2


def test_the_earliest_problem_wins_when_there_are_several(chain, now):
    anchor_record(client=chain, at=now, purpose="qbr-report")
    set_data(chain, 4, {"edited": True})
    delete_events(chain, from_seq=2)

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (2, Reason.GAP)


def test_verify_all_names_only_the_broken_client(chain, client_b):
    set_data(chain, 4, {"edited": True})

    result = verify_all()

    assert not result.ok
    assert (result.clients, result.anchors) == (2, 0)
    assert [(r.client_id, r.bad_seq, r.reason) for r in result.failures] == [
        (chain.pk, 4, Reason.HASH_MISMATCH)
    ]
    assert result.summary() == (
        "FAILED: 1 of 2 clients failed verification (4 events, 0 anchors checked)"
    )


def test_verify_all_counts_clients_events_and_anchors(chain, client_b, now):
    anchor_record(client=client_b, at=now, purpose="qbr-report")

    result = verify_all()

    assert result.ok
    assert result.summary() == "ok: 2 clients, 6 events, 1 anchor checked"


def test_verification_reads_a_fixed_number_of_queries_whatever_the_chain_length(chain, now):
    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert verify_client(chain, chunk_size=7).ok
        return len(context.captured_queries)

    short = queries()
    append(chain, 40, now=now)

    assert queries() == short


def test_verification_streams_the_chain_instead_of_loading_it(chain, now):
    uuid = str(chain.uuid)
    last = event(chain, 5)
    rows = []
    for seq in range(6, 2_006):
        forged = Event(
            client=chain,
            seq=seq,
            kind="bulk",
            at=now,
            actor="system:test",
            data={"padding": "x" * 200, "seq": seq},
            prev_hash=last.hash,
        )
        forged.hash = forged.compute_hash(uuid)
        rows.append(forged)
        last = forged
    Event.objects.bulk_create(rows, batch_size=2000)
    rewrite_head(chain, last.seq, last.hash)
    del rows, forged, last

    tracemalloc.start()
    try:
        report = verify_client(chain, chunk_size=100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert report.ok and report.events == 2_005
    # Loading the 2,000 model instances with their data takes over 4 MB.
    assert peak < 1024 * 1024, f"peak {peak} bytes"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("acme", "is not CLIENT:SEQ:HASH"),
        ("acme:5", "is not CLIENT:SEQ:HASH"),
        (":5:" + "a" * 64, "is not CLIENT:SEQ:HASH"),
        ("acme:five:" + "a" * 64, "SEQ must be a whole number"),
        ("acme:-1:" + "a" * 64, "SEQ must be a whole number"),
        ("acme:5:" + "a" * 63, "HASH must be 64 hexadecimal digits"),
        ("acme:5:" + "g" * 64, "HASH must be 64 hexadecimal digits"),
    ],
)
def test_a_malformed_anchor_is_refused_with_a_clear_message(text, message):
    with pytest.raises(BadAnchor, match=message):
        parse_anchor(text)


def test_an_anchor_text_names_client_seq_and_lower_cased_hash():
    assert parse_anchor("Studio: Rossi & C:12:" + "AB" * 32) == ("Studio: Rossi & C", 12, "ab" * 32)


def set_body_bytes(client, seq: int, body: bytes | None) -> None:
    tamper(
        "UPDATE ledger_event SET body_bytes = %s WHERE client_id = %s AND seq = %s",
        [body, client.pk, seq],
    )


def test_the_stored_copy_of_the_body_does_not_outvote_the_columns(chain):
    # A forger rewrites an event's columns and leaves the stored copy of its body (and
    # its hash) as they were: the columns are what the chain is checked on.
    original = bytes(event(chain, 3).body_bytes)
    set_data(chain, 3, {"n": 1, "note": "l'importo è cambiato"})
    assert bytes(event(chain, 3).body_bytes) == original

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (3, Reason.HASH_MISMATCH)
    assert report.detail == "stored hash differs from the recomputed hash"


def test_a_forged_copy_of_the_body_with_its_hash_is_a_hash_mismatch(chain):
    forged = event(chain, 3)
    forged.data = {"n": 1, "note": "l'importo è cambiato"}
    body = canonical_json(forged.body(str(chain.uuid)))
    digest = hashlib.sha256(forged.prev_hash.encode() + body).hexdigest()
    tamper(
        "UPDATE ledger_event SET body_bytes = %s, hash = %s WHERE client_id = %s AND seq = 3",
        [body, digest, chain.pk],
    )

    report = verify_client(chain)

    assert (report.bad_seq, report.reason) == (3, Reason.HASH_MISMATCH)


@pytest.mark.parametrize("body", [None, b"\xff\xfe not UTF-8", b"{not json", b'{"v":1}'])
def test_events_without_a_usable_copy_of_their_body_are_encoded_from_their_columns(chain, body):
    set_body_bytes(chain, 2, body)
    set_body_bytes(chain, 4, body)

    assert verify_client(chain).ok

    set_data(chain, 4, {"n": 2, "note": "Caffè Ñandú (edited)"})
    report = verify_client(chain)
    assert (report.bad_seq, report.reason) == (4, Reason.HASH_MISMATCH)


def test_an_event_at_a_whole_second_verifies(client_a, now):
    # SQLite stores such a time without its fractional digits.
    append(client_a, 2, now=now.replace(microsecond=0))
    append(client_a, 1, now=now.replace(microsecond=123456))

    assert verify_client(client_a).ok
