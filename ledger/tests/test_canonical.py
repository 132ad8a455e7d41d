"""The canonical JSON rules of docs/ledger.md §3, which every verifier must share."""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo

import pytest

from ledger.models import GENESIS_HASH, Event
from lib.canonical import NotCanonical, canonical_json, sha256_hex, utc_timestamp


def test_it_sorts_keys_at_every_level_by_code_point():
    value = {"b": 1, "a": {"z": True, "y": None}, "B": [{"d": 1, "c": 2}], "é": 0}

    assert canonical_json(value) == (
        b'{"B":[{"c":2,"d":1}],"a":{"y":null,"z":true},"b":1,"\xc3\xa9":0}'
    )


def test_it_writes_no_whitespace_between_tokens():
    assert canonical_json({"a": [1, 2], "b": "x y"}) == b'{"a":[1,2],"b":"x y"}'


def test_it_writes_non_ascii_as_utf8_bytes_not_escapes():
    encoded = canonical_json({"name": "Caffè Ñandú", "city": "東京"})

    assert b"\\u" not in encoded
    assert encoded == '{"city":"東京","name":"Caffè Ñandú"}'.encode()
    assert "Caffè".encode() == b"Caff\xc3\xa8"


def test_it_escapes_only_quotes_backslashes_and_control_characters():
    encoded = canonical_json(['quote" back\\ nl\n tab\t bell\x07 slash/ del\x7f ls\u2028'])

    assert encoded == (
        b'["quote\\" back\\\\ nl\\n tab\\t bell\\u0007 slash/ del\x7f ls\xe2\x80\xa8"]'
    )


def test_it_refuses_floats_anywhere():
    for value in (1.5, {"a": 1.0}, [1, [2, 3.25]], {"a": {"b": float("nan")}}):
        with pytest.raises(NotCanonical, match="float has no canonical JSON form"):
            canonical_json(value)


def test_it_refuses_non_string_keys_and_other_types():
    with pytest.raises(NotCanonical, match="object keys must be strings"):
        canonical_json({1: "a"})
    with pytest.raises(NotCanonical, match="date has no canonical JSON form"):
        canonical_json({"d": dt.date(2026, 3, 2)})
    with pytest.raises(NotCanonical, match="set has no canonical JSON form"):
        canonical_json({"s": {1, 2}})


def test_it_writes_integers_booleans_and_null_plainly():
    assert canonical_json([0, -7, 2**70, True, False, None]) == (
        b"[0,-7,1180591620717411303424,true,false,null]"
    )


def test_timestamps_are_utc_with_six_fractional_digits():
    rome = zoneinfo.ZoneInfo("Europe/Rome")

    assert utc_timestamp(dt.datetime(2026, 3, 2, 10, 0, tzinfo=rome)) == (
        "2026-03-02T09:00:00.000000Z"
    )
    assert utc_timestamp(dt.datetime(2026, 7, 1, 0, 0, 0, 5, tzinfo=dt.UTC)) == (
        "2026-07-01T00:00:00.000005Z"
    )


def test_naive_timestamps_are_refused():
    with pytest.raises(NotCanonical, match="timezone-aware"):
        utc_timestamp(dt.datetime(2026, 3, 2, 9, 0))  # noqa: DTZ001


def test_an_event_hash_is_sha256_of_the_previous_hash_then_the_canonical_body():
    event = Event(
        seq=1,
        kind="note",
        at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
        actor="system:test",
        recommendation_id=None,
        data={"n": 1},
        prev_hash=GENESIS_HASH,
    )
    uuid = "00000000-0000-4000-8000-000000000001"
    body = (
        b'{"actor":"system:test","at":"2026-03-02T09:00:00.000000Z",'
        b'"client":"00000000-0000-4000-8000-000000000001","data":{"n":1},"kind":"note",'
        b'"recommendation":null,"seq":1,"v":1}'
    )

    assert canonical_json(event.body(uuid)) == body
    assert event.compute_hash(uuid) == hashlib.sha256(b"0" * 64 + body).hexdigest()
    assert event.compute_hash(uuid) == sha256_hex(GENESIS_HASH.encode() + body)


def test_an_event_hash_changes_with_any_field_of_the_body():
    base = Event(
        seq=2,
        kind="note",
        at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC),
        actor="system:test",
        recommendation_id=None,
        data={"n": 1},
        prev_hash=GENESIS_HASH,
    )
    uuid = "00000000-0000-4000-8000-000000000001"
    original = base.compute_hash(uuid)
    changes = {
        "seq": 3,
        "kind": "other",
        "at": dt.datetime(2026, 3, 2, 9, 0, 0, 1, tzinfo=dt.UTC),
        "actor": "system:other",
        "recommendation_id": 4,
        "data": {"n": 2},
        "prev_hash": "f" * 64,
    }
    for name, value in changes.items():
        changed = Event(**{**{f: getattr(base, f) for f in changes}, name: value})
        assert changed.compute_hash(uuid) != original, name
    assert base.compute_hash("00000000-0000-4000-8000-000000000002") != original
