"""docs/ledger.md is a specification others implement: its worked example and its
reference verifier must agree with the code, so the page cannot drift from it."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import zoneinfo
from pathlib import Path

import pytest

from ledger.models import GENESIS_HASH, Event
from ledger.tests.helpers import append, set_data
from lib.canonical import canonical_json
from recommendations.models import snapshot_sha256

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"
CLIENT_UUID = "5b0c4e8e-7d7a-4c61-9f3e-2a6b1d9c8e10"
TEXT = {
    "title": "Require MFA for all remote access",
    "body": "Enforce multi-factor authentication on VPN, RDP gateways and webmail.",
    "risk_if_ignored": "A single phished password gives an attacker remote access.",
}


def block(marker: str) -> str:
    """The fenced code block that follows ``<!-- marker -->`` in the doc."""
    match = re.search(
        rf"<!-- {re.escape(marker)} -->\n```[a-z]*\n(.*?)\n```", DOC.read_text("utf-8"), re.S
    )
    assert match, f"docs/ledger.md has no block marked {marker}"
    return match.group(1)


def example_events() -> tuple[Event, Event]:
    """The two events of the worked example, built here from their fields alone."""
    first = Event(
        seq=1,
        kind="client.created",
        at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Rome")),
        actor="staff:ada",
        recommendation_id=None,
        data={
            "name": "Caffè Ñandú S.r.l.",
            "domains": ["caffe-nandu.example"],
            "regulated": False,
            "account_owner": "ada",
        },
        prev_hash=GENESIS_HASH,
    )
    first.hash = first.compute_hash(CLIENT_UUID)
    second = Event(
        seq=2,
        kind="recommendation.present",
        at=dt.datetime(2026, 3, 2, 9, 15, 30, 250000, tzinfo=dt.UTC),
        actor="staff:marco",
        recommendation_id=7,
        data={
            "from": "draft",
            "to": "awaiting_response",
            "text_sha256": snapshot_sha256(**TEXT),
            "response_due_at": "2026-03-09T09:15:30.250000Z",
            "recipients": ["chiara@caffe-nandu.example"],
        },
        prev_hash=first.hash,
    )
    second.hash = second.compute_hash(CLIENT_UUID)
    return first, second


def test_the_worked_example_bodies_are_the_canonical_bytes_of_the_code():
    first, second = example_events()

    assert block("example:event-1-body").encode() == canonical_json(first.body(CLIENT_UUID))
    assert block("example:event-2-body").encode() == canonical_json(second.body(CLIENT_UUID))


def test_the_worked_example_hashes_are_the_hashes_of_the_code():
    first, second = example_events()

    assert block("example:event-1-hash") == first.hash
    assert block("example:event-2-hash") == second.hash
    body = block("example:event-2-body").encode()
    assert hashlib.sha256(first.hash.encode() + body).hexdigest() == second.hash


def test_the_worked_example_text_hash_is_snapshot_sha256():
    assert block("example:text").encode() == canonical_json(TEXT)
    assert block("example:text-hash") == snapshot_sha256(**TEXT)


def test_the_byte_counts_quoted_in_the_example_are_right():
    first, second = example_events()
    text = DOC.read_text("utf-8")
    length_1 = len(canonical_json(first.body(CLIENT_UUID)))
    length_2 = len(canonical_json(second.body(CLIENT_UUID)))

    assert f"form — {length_1} bytes" in text
    assert f"({64 + length_1} bytes in all)" in text
    assert f"canonical body ({length_2} bytes)" in text
    assert f"caffe-nandu:2:{second.hash}" in text


def reference_verifier():
    namespace: dict = {}
    exec(compile(block("reference-verifier"), str(DOC), "exec"), namespace)  # noqa: S102
    return namespace["first_bad_event"]


def exported(client) -> list[dict]:
    uuid = str(client.uuid)
    return [
        {**e.body(uuid), "prev_hash": e.prev_hash, "hash": e.hash}
        for e in Event.objects.filter(client=client).order_by("seq")
    ]


def test_the_reference_verifier_accepts_the_worked_example():
    first_bad_event = reference_verifier()
    events = [
        {**e.body(CLIENT_UUID), "prev_hash": e.prev_hash, "hash": e.hash} for e in example_events()
    ]

    assert first_bad_event(events) is None
    assert first_bad_event(events, [(2, block("example:event-2-hash"))]) is None


@pytest.mark.django_db
def test_the_reference_verifier_agrees_with_the_code_on_a_real_chain(client_a, now):
    first_bad_event = reference_verifier()
    append(client_a, 3, now=now)
    events = exported(client_a)

    assert first_bad_event(events) is None
    assert first_bad_event(events, [(4, events[3]["hash"])]) is None
    assert first_bad_event(events, [(4, "0" * 64)]) == (4, "chain differs from anchor")
    assert first_bad_event(events[:3], [(4, events[3]["hash"])]) == (
        4,
        "chain shorter than anchor",
    )
    assert first_bad_event(events[:1] + events[2:]) == (2, "gap")

    set_data(client_a, 3, {"edited": True})
    assert first_bad_event(exported(client_a)) == (3, "hash mismatch")
