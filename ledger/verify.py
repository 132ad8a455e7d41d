"""Verification of the ledger's hash chains (docs/ledger.md, "Verifying a chain").

Reads only: nothing here writes. A client's events are streamed in ``seq`` order
with ``.iterator(chunk_size=...)``, so verifying a chain of a million events holds
one chunk in memory, and the cost is one pass over that client's events plus its
anchors.

Checks, in the order a reader meets them:

- per event: ``seq`` runs 1, 2, 3, ... with no gap; ``prev_hash`` is the previous
  event's hash (the first event's is ``GENESIS_HASH``); the stored hash equals the
  hash recomputed from the event's fields;
- the head row: its (seq, hash) is the last event's, so a chain whose tail was cut
  off (or extended behind the head's back) is caught unless the head was rewritten
  too;
- anchors, from the ``ledger_anchor`` table and any given by the caller (a hash a
  client kept from a report or an e-mail): the event at the anchor's seq exists and
  has the anchor's hash. Anchors catch what the first two cannot: a rewritten head
  and a chain recomputed from scratch.

Only the first bad event of a chain is reported: after it, nothing can be trusted.

While the database guards the stored copy of every body (ledger/triggers.py), a fast
pass hashes those copies as they come and only proves a chain good; any chain it does
not prove is walked again the thorough way, which finds and names the fault.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

from django.db import DatabaseError, DataError, connection, transaction
from django.utils.dateparse import parse_datetime

from clients.models import Client
from ledger import triggers
from ledger.models import FORMAT_VERSION, GENESIS_HASH, Anchor, Event, Head
from lib.canonical import NotCanonical, canonical_json, utc_timestamp

DEFAULT_CHUNK_SIZE = 2000
HASH_RE = re.compile(r"^[0-9a-f]{64}$")


class Reason(StrEnum):
    """Why a chain failed. The value starts the printed reason."""

    GAP = "gap"
    OUT_OF_ORDER = "out of order"
    BROKEN_LINK = "broken link"
    HASH_MISMATCH = "hash mismatch"
    HEAD_MISSING = "head missing"
    HEAD_DIFFERS = "head differs from chain"
    BEYOND_HEAD = "events beyond head"
    SHORTER_THAN_HEAD = "chain shorter than head"
    SHORTER_THAN_ANCHOR = "chain shorter than anchor"
    DIFFERS_FROM_ANCHOR = "chain differs from anchor"


class BadAnchor(ValueError):
    """An anchor given as text is malformed; the message says how."""


@dataclass(frozen=True)
class AnchorClaim:
    """A (seq, hash) that the chain of one client must contain.

    ``source`` names where it came from in messages: ``anchor #12 (qbr-report,
    2026-03-02)`` for a stored anchor, ``command-line anchor`` for one given by hand.
    """

    seq: int
    hash: str
    source: str


def parse_anchor(text: str) -> tuple[str, int, str]:
    """Split ``CLIENT:SEQ:HASH`` into (client reference, seq, lower-case hash).

    The client reference may itself contain colons (a name); seq and hash may not.
    Raise BadAnchor with a message meant for the person who typed it.
    """
    parts = text.strip().rsplit(":", 2)
    if len(parts) != 3 or not all(part.strip() for part in parts):
        raise BadAnchor(f"anchor {text!r} is not CLIENT:SEQ:HASH")
    client_ref, raw_seq, raw_hash = (part.strip() for part in parts)
    if not raw_seq.isdigit():
        raise BadAnchor(f"anchor {text!r}: SEQ must be a whole number >= 0, got {raw_seq!r}")
    digest = raw_hash.lower()
    if not HASH_RE.match(digest):
        raise BadAnchor(f"anchor {text!r}: HASH must be 64 hexadecimal digits")
    return client_ref, int(raw_seq), digest


@dataclass(frozen=True)
class ChainReport:
    """The verdict on one client's chain.

    ``ok`` is True when every check passed; otherwise ``bad_seq`` is the sequence
    number of the first bad event (for a missing tail: the first missing one) and
    ``reason``/``detail`` say what is wrong with it.
    """

    client_id: int
    client_name: str
    events: int
    anchors: int
    head_seq: int
    head_hash: str
    bad_seq: int | None = None
    reason: Reason | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def client_label(self) -> str:
        return f'client "{self.client_name}" (id {self.client_id})'

    @property
    def message(self) -> str:
        """``hash mismatch: stored hash differs from ...``; empty when ok."""
        if self.reason is None:
            return ""
        return f"{self.reason.value}: {self.detail}" if self.detail else self.reason.value

    def line(self) -> str:
        """One line for people and scripts: ``ok: ...`` or ``FAIL: ...``."""
        if self.ok:
            anchors = _plural(self.anchors, "anchor")
            return f"ok: {self.client_label}: {_plural(self.events, 'event')}, {anchors}"
        return f"FAIL: {self.client_label}: event {self.bad_seq}: {self.message}"


@dataclass
class LedgerReport:
    """The verdict on several chains: totals, and the report of every failed chain."""

    clients: int = 0
    events: int = 0
    anchors: int = 0
    failures: list[ChainReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def add(self, report: ChainReport) -> None:
        self.clients += 1
        self.events += report.events
        self.anchors += report.anchors
        if not report.ok:
            self.failures.append(report)

    def summary(self) -> str:
        """``ok: 2 clients, 17 events, 3 anchors checked`` or ``FAILED: 1 of 2 ...``."""
        events_anchors = f"{_plural(self.events, 'event')}, {_plural(self.anchors, 'anchor')}"
        if self.ok:
            return f"ok: {_plural(self.clients, 'client')}, {events_anchors} checked"
        return (
            f"FAILED: {len(self.failures)} of {_plural(self.clients, 'client')} failed "
            f"verification ({events_anchors} checked)"
        )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _stored_anchor_source(anchor: Anchor) -> str:
    return f"anchor #{anchor.pk} ({anchor.purpose}, {anchor.created_at.date().isoformat()})"


def _claims_by_seq(
    client: Client, extra: Iterable[AnchorClaim]
) -> tuple[dict[int, list[AnchorClaim]], int]:
    claims: dict[int, list[AnchorClaim]] = defaultdict(list)
    count = 0
    stored = Anchor.objects.filter(client_id=client.pk).order_by("seq", "pk")
    for anchor in stored.iterator(chunk_size=DEFAULT_CHUNK_SIZE):
        source = _stored_anchor_source(anchor)
        claims[anchor.seq].append(AnchorClaim(seq=anchor.seq, hash=anchor.hash, source=source))
        count += 1
    for claim in extra:
        claims[claim.seq].append(claim)
        count += 1
    return claims, count


@contextlib.contextmanager
def _read_scope() -> Iterator[None]:
    # On PostgreSQL a server-side cursor opened outside a transaction is declared
    # WITH HOLD, which makes the server materialise the whole result when the
    # implicit transaction commits; inside one it streams. On SQLite an atomic
    # block would BEGIN IMMEDIATE and hold the write lock for the whole pass, so
    # there we stream from a plain autocommit statement instead.
    if connection.vendor == "postgresql":
        with transaction.atomic():
            yield
    else:
        yield


# --- the canonical bytes of a row, without model instances -------------------------
#
# Each event row is read as a tuple (seq, prev_hash, hash, ..., head_seq, head_hash)
# and turned into the bytes its hash covers by a ``Body`` function. The fast way uses
# the copy of the canonical body stored at append time (``body_bytes``), but only once
# it is known to say what the columns say: on PostgreSQL the query compares the two
# as jsonb values; on SQLite, where ``data`` is stored as its canonical text, the body
# is rebuilt around that text by string formatting and compared with the copy. Any
# row where they disagree (or with no copy: events from before it existed) is
# re-encoded from its columns, the slow way, as the specification says.

Row = tuple[Any, ...]
Body = Callable[[Row], bytes]
_UTC_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'
# body_bytes, then the columns it is rebuilt from: NULL where the body can be trusted.
_PG_EVENTS = f"""
SELECT e.seq, e.prev_hash, e.hash,
       CASE WHEN e.agrees THEN e.body_bytes END,
       CASE WHEN e.agrees THEN NULL ELSE e.kind END,
       CASE WHEN e.agrees THEN NULL ELSE e.at_text END,
       CASE WHEN e.agrees THEN NULL ELSE e.actor END,
       CASE WHEN e.agrees THEN NULL ELSE e.recommendation_id END,
       CASE WHEN e.agrees THEN NULL ELSE e.data::text END,
       (SELECT h.seq FROM ledger_head h WHERE h.client_id = %(client)s),
       (SELECT h.hash FROM ledger_head h WHERE h.client_id = %(client)s)
FROM (
    SELECT ev.*, {{agrees}} AS agrees,
           to_char(ev.at AT TIME ZONE 'UTC', '{_UTC_FORMAT}') AS at_text
    FROM ledger_event ev
    WHERE ev.client_id = %(client)s
    ORDER BY ev.seq
    OFFSET 0
) e
ORDER BY e.seq
"""
_PG_AGREES = f"""(ev.body_bytes IS NOT NULL AND convert_from(ev.body_bytes, 'UTF8')::jsonb
    = jsonb_build_object(
        'actor', ev.actor,
        'at', to_char(ev.at AT TIME ZONE 'UTC', '{_UTC_FORMAT}'),
        'client', %(uuid)s::text,
        'data', ev.data,
        'kind', ev.kind,
        'recommendation', ev.recommendation_id,
        'seq', ev.seq,
        'v', {FORMAT_VERSION}
    ))"""
# The CAST keeps Django's converter from turning the stored text into a datetime.
_SQLITE_EVENTS = """
SELECT e.seq, e.prev_hash, e.hash, e.body_bytes, e.kind, CAST(e.at AS TEXT), e.actor,
       e.recommendation_id, e.data,
       (SELECT h.seq FROM ledger_head h WHERE h.client_id = %(client)s),
       (SELECT h.hash FROM ledger_head h WHERE h.client_id = %(client)s)
FROM ledger_event e
WHERE e.client_id = %(client)s
ORDER BY e.seq
"""
_ROW_BODY = (
    '{"actor":%s,"at":"%s","client":"%s","data":%s,"kind":%s,"recommendation":%s,'
    f'"seq":%d,"v":{FORMAT_VERSION}}}'
)


def timestamp_text(text: str) -> str:
    """The canonical form of a timestamp read as text from the database: PostgreSQL's
    to_char above gives it already; SQLite stores ``YYYY-MM-DD HH:MM:SS[.ffffff]`` in
    UTC."""
    if len(text) == 27 and text[10] == "T":
        return text
    if len(text) == 26 and text[10] == " ":
        return f"{text[:10]}T{text[11:]}Z"
    if len(text) == 19 and text[10] == " ":
        return f"{text[:10]}T{text[11:]}.000000Z"
    moment = parse_datetime(text)
    if moment is None:
        raise ValueError(f"at: {text!r} is not a timestamp")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return utc_timestamp(moment)


def body_of_columns(
    client_uuid: str, seq: int, kind: str, at: Any, actor: str, recommendation: Any, data: str
) -> bytes:
    """An event's canonical body from its columns (``data`` as stored text), the slow,
    specified way: parse the data, check it, serialise it canonically. Raises
    NotCanonical, TypeError or ValueError for columns that have no canonical form."""
    body = {
        "v": FORMAT_VERSION,
        "client": client_uuid,
        "seq": seq,
        "kind": kind,
        "at": timestamp_text(at),
        "actor": actor,
        "recommendation": recommendation,
        "data": json.loads(data),
    }
    return canonical_json(body)


def _columns_body(client_uuid: str) -> Callable[[Row], bytes]:
    """Encode a row's body from its columns (seq, ..., kind, at, actor, rec, data text)."""

    def encode(row: Row) -> bytes:
        return body_of_columns(client_uuid, row[0], *row[4:9])

    return encode


def _pg_body(client_uuid: str) -> Body:
    from_columns = _columns_body(client_uuid)

    def body(row: Row) -> bytes:
        stored = row[3]
        return stored if stored is not None else from_columns(row)

    return body


def _sqlite_body(client_uuid: str) -> Body:
    from_columns = _columns_body(client_uuid)

    def body(row: Row) -> bytes:
        seq, _, _, stored, kind, at, actor, recommendation, data = row[:9]
        if stored is not None:
            rebuilt = _ROW_BODY % (
                encode_basestring(actor),
                timestamp_text(at),
                client_uuid,
                data,
                encode_basestring(kind),
                "null" if recommendation is None else recommendation,
                seq,
            )
            if rebuilt.encode("utf-8") == stored:
                return stored
        return from_columns(row)

    return body


def _event_rows(client: Client, *, trust_stored: bool, chunk_size: int) -> Iterator[Row]:
    """The client's event rows in seq order, ``chunk_size`` at a time, each carrying
    the head's (seq, hash), read in the same statement."""
    params = {"client": client.pk, "uuid": str(client.uuid)}
    if connection.vendor == "postgresql":
        sql = _PG_EVENTS.format(agrees=_PG_AGREES if trust_stored else "FALSE")
    else:
        sql = _SQLITE_EVENTS
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(chunk_size):
            yield from chunk


def verify_client(
    client: Client,
    *,
    extra_anchors: Sequence[AnchorClaim] = (),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    guarded: bool | None = None,
) -> ChainReport:
    """Verify one client's chain against its head row, its stored anchors and
    ``extra_anchors``; return a ChainReport naming the first bad event, if any.

    ``guarded`` says whether the database's agreement guard is in place
    (``agreement_guarded``; asked when not given): then the stored bodies are hashed
    as they are, and only a chain that fails that fast pass is walked again the
    thorough way, which names its first bad event."""
    if guarded is None:
        guarded = agreement_guarded()
    client_uuid = str(client.uuid)
    with _read_scope():
        # Anchors are read before the events: every anchor read here points at a
        # head that was committed before, so the events read next include it.
        claims, anchor_count = _claims_by_seq(client, extra_anchors)
        head_before = Head.objects.filter(client_id=client.pk).values_list("seq", "hash").first()
        if guarded:
            events = _fast_walk(client, claims, head_before, chunk_size)
            if events is not None and head_before is not None:
                return ChainReport(
                    client_id=client.pk,
                    client_name=client.name,
                    events=events,
                    anchors=anchor_count,
                    head_seq=head_before[0],
                    head_hash=head_before[1],
                )

        # The head travels with every event row, from one statement and so from one
        # snapshot: an append committed while we read cannot make the head and the
        # chain disagree. The subqueries do not depend on the row, so each database
        # evaluates them once.
        def walk(rows: Iterator[Row], body_of: Body) -> ChainReport:
            return _walk_rows(client, rows, body_of, claims, anchor_count, head_before)

        if connection.vendor != "postgresql":
            return _walk_events(client, _sqlite_body(client_uuid), True, chunk_size, walk)
        try:
            # A stored body that is not UTF-8 JSON (a forgery) makes PostgreSQL refuse
            # the comparison: then every row is re-encoded from its columns.
            with transaction.atomic():
                return _walk_events(client, _pg_body(client_uuid), True, chunk_size, walk)
        except DataError:
            return _walk_events(client, _pg_body(client_uuid), False, chunk_size, walk)


# --- the fast pass, while the database guards the stored bodies ---------------------
#
# With the agreement guard in place (ledger/triggers.py) every stored body says what
# its row's columns say, except for the client, which the guard cannot read: the pass
# checks the client's UUID in each body itself. So the pass reads (seq, hash, prev_hash ‖ body),
# the last as the very bytes SHA-256 takes, and per event compares two numbers, a
# prefix and a digest. It proves a chain good or gives up (returns None) at the first
# thing it does not expect, a concurrent append included; the thorough walk then finds
# and names the fault.

_FAST_SQL = {
    "postgresql": """
SELECT e.seq, e.hash, convert_to(e.prev_hash, 'UTF8') || e.body_bytes
FROM ledger_event e WHERE e.client_id = %(client)s ORDER BY e.seq
""",
    "sqlite": """
SELECT e.seq, e.hash, CAST(e.prev_hash || e.body_bytes AS BLOB)
FROM ledger_event e WHERE e.client_id = %(client)s ORDER BY e.seq
""",
}
_CLIENT_KEY = b'"client":"'


def _fast_walk(
    client: Client,
    claims: Mapping[int, list[AnchorClaim]],
    head: tuple[int, str] | None,
    chunk_size: int,
) -> int | None:
    """The number of events when the chain, ``head`` and every anchor check out; None
    at the first surprise."""
    if head is None or any(claim.hash != GENESIS_HASH for claim in claims.get(0, ())):
        return None
    if head[0] == 0 or any(seq > head[0] for seq in claims):
        return None
    # The first "client" key of a canonical body is the top-level one: "actor" and
    # "at" come before it, and a string's own quotes are escaped.
    marker = _CLIENT_KEY + str(client.uuid).encode("ascii") + b'"'
    key = _CLIENT_KEY
    sha256 = hashlib.sha256
    # Anchors are met in seq order: one comparison per event instead of a lookup.
    claimed = iter(sorted(seq for seq in claims if seq > 0))
    next_claim = next(claimed, 0)
    expected = 1
    digest = GENESIS_HASH
    last = digest.encode()
    with connection.chunked_cursor() as cursor:
        if connection.vendor == "postgresql":
            # Binary results: bytea arrives as bytes rather than as hexadecimal text.
            cursor.cursor.execute(_FAST_SQL["postgresql"], {"client": client.pk}, binary=True)
        else:
            cursor.execute(_FAST_SQL[connection.vendor], {"client": client.pk})
        while chunk := cursor.fetchmany(chunk_size):
            for seq, digest, data in chunk:
                # data is None for an event without a stored body.
                if (
                    seq != expected
                    or data is None
                    or not data.startswith(last)
                    or not data.startswith(marker, data.find(key))
                    or sha256(data).hexdigest() != digest
                ):
                    return None
                if seq == next_claim:
                    if any(claim.hash != digest for claim in claims[seq]):
                        return None
                    next_claim = next(claimed, 0)
                last = digest.encode()
                expected += 1
    events = expected - 1
    if head != (events, digest):
        return None
    return events


def agreement_guarded() -> bool:
    """Whether the database still enforces that every stored body agrees with its
    columns: on PostgreSQL the validated CHECK constraint, with the definition
    ledger/triggers.py gives it; on SQLite the agreement trigger and the trigger that
    refuses updates, with the text ledger/triggers.py gives them."""
    if connection.vendor == "postgresql":
        return _pg_guarded()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [triggers.TABLE],
            )
            found = dict(cursor.fetchall())
        return all(found.get(name) == sql for name, sql in triggers.sqlite_guards().items())
    return False


def _pg_guarded() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT convalidated, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND conname = %s AND contype = 'c'",
            [triggers.TABLE, triggers.AGREEMENT],
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        return False
    expected = _pg_expected_definition()
    return expected is not None and row[1] == expected


_pg_definitions: dict[int, str] = {}


def _pg_expected_definition() -> str | None:
    """The definition PostgreSQL gives the agreement constraint, as this server
    prints it: read once from a scratch copy on a temporary table, so a rewritten
    constraint of the same name is told apart whatever the server's version. None
    where temporary tables cannot be made (a read-only standby)."""
    version = connection.pg_version  # type: ignore[attr-defined]
    if version not in _pg_definitions:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMPORARY TABLE ledger_event_guard_probe "
                    f"(LIKE {triggers.TABLE}) ON COMMIT DROP"
                )
                cursor.execute(
                    "ALTER TABLE ledger_event_guard_probe ADD CONSTRAINT probe "
                    f"CHECK ({triggers.PG_AGREES})"
                )
                cursor.execute(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'ledger_event_guard_probe'::regclass AND conname = 'probe'"
                )
                _pg_definitions[version] = cursor.fetchone()[0]
                raise _Discard
        except _Discard:
            pass
        except DatabaseError:
            return None
    return _pg_definitions[version]


class _Discard(Exception):
    """Rolls the probe's savepoint back."""


def _walk_events(
    client: Client,
    body_of: Body,
    trust_stored: bool,
    chunk_size: int,
    walk: Callable[[Iterator[Row], Body], ChainReport],
) -> ChainReport:
    rows = _event_rows(client, trust_stored=trust_stored, chunk_size=chunk_size)
    try:
        return walk(rows, body_of)
    finally:
        # Close the cursor now, not whenever the generator is collected: a server-side
        # cursor closed by the garbage collector in the middle of another query would
        # wait for the connection that runs it.
        rows.close()


def _walk(
    client: Client,
    rows: Iterator[Event],
    claims: Mapping[int, list[AnchorClaim]],
    anchor_count: int,
    head_before: tuple[int, str] | None,
) -> ChainReport:
    """The walk over model instances that carry ``head_seq`` and ``head_hash`` (rows of
    a backup archive): each body is encoded from the instance's fields."""
    client_uuid = str(client.uuid)
    tuples = ((e.seq, e.prev_hash, e.hash, e, e.head_seq, e.head_hash) for e in rows)  # type: ignore[attr-defined]
    return _walk_rows(
        client,
        tuples,
        lambda row: canonical_json(row[3].body(client_uuid)),
        claims,
        anchor_count,
        head_before,
    )


def _walk_rows(
    client: Client,
    rows: Iterator[Row],
    body_of: Body,
    claims: Mapping[int, list[AnchorClaim]],
    anchor_count: int,
    head_before: tuple[int, str] | None,
) -> ChainReport:
    head: tuple[int, str] | None = None
    expected = 1
    prev_hash = GENESIS_HASH
    sha256 = hashlib.sha256

    def report(
        bad_seq: int | None = None, reason: Reason | None = None, detail: str = ""
    ) -> ChainReport:
        seq, digest = head if head is not None else (0, GENESIS_HASH)
        return ChainReport(
            client_id=client.pk,
            client_name=client.name,
            events=expected - 1,
            anchors=anchor_count,
            head_seq=seq,
            head_hash=digest,
            bad_seq=bad_seq,
            reason=reason,
            detail=detail,
        )

    for claim in claims.get(0, ()):
        # An anchor taken before the first event holds the genesis hash.
        if claim.hash != GENESIS_HASH:
            head = head_before
            return report(0, Reason.DIFFERS_FROM_ANCHOR, _differs(claim, GENESIS_HASH))

    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        head = head_before
    else:
        if first[-2] is None:
            return report(first[0], Reason.HEAD_MISSING, "the chain has events but no head row")
        head = (first[-2], first[-1])
        rows = itertools.chain((first,), rows)
    head_seq, head_hash = head if head is not None else (0, GENESIS_HASH)

    for row in rows:
        seq = row[0]
        if seq != expected:
            if seq > expected:
                detail = f"event {expected} is missing (the next stored event is {seq})"
                return report(expected, Reason.GAP, detail)
            detail = f"found seq {seq} where {expected} was expected"
            return report(seq, Reason.OUT_OF_ORDER, detail)
        if row[1] != prev_hash:
            if seq == 1:
                detail = "the first event's prev_hash is not the genesis hash"
            else:
                detail = f"prev_hash is not the hash of event {seq - 1}"
            return report(seq, Reason.BROKEN_LINK, detail)
        try:
            computed = sha256(prev_hash.encode("ascii") + body_of(row)).hexdigest()
        except (NotCanonical, TypeError, ValueError) as exc:
            return report(seq, Reason.HASH_MISMATCH, f"the event cannot be hashed ({exc})")
        prev_hash = row[2]
        if computed != prev_hash:
            return report(seq, Reason.HASH_MISMATCH, "stored hash differs from the recomputed hash")
        if seq >= head_seq:
            if seq == head_seq and prev_hash != head_hash:
                return report(seq, Reason.HEAD_DIFFERS, f"the head at seq {seq} has another hash")
            if seq == head_seq + 1:
                detail = f"the head is at seq {head_seq} but the chain continues"
                return report(seq, Reason.BEYOND_HEAD, detail)
        if seq in claims:
            for claim in claims[seq]:
                if claim.hash != prev_hash:
                    return report(seq, Reason.DIFFERS_FROM_ANCHOR, _differs(claim, prev_hash))
        expected += 1

    last = expected - 1
    if head is not None and head[0] > last:
        detail = f"the head is at seq {head[0]} but the last event is {last}"
        return report(last + 1, Reason.SHORTER_THAN_HEAD, detail)
    beyond = [claim for seq, items in claims.items() if seq > last for claim in items]
    if beyond:
        claim = min(beyond, key=lambda c: c.seq)
        detail = f"{claim.source} is at seq {claim.seq} but the last event is {last}"
        return report(last + 1, Reason.SHORTER_THAN_ANCHOR, detail)
    return report()


def _differs(claim: AnchorClaim, actual: str) -> str:
    return (
        f"{claim.source} has hash {claim.hash[:16]}… at seq {claim.seq}, the chain {actual[:16]}…"
    )


def verify_clients(
    clients: Iterable[Client],
    *,
    extra_anchors: Mapping[int, Sequence[AnchorClaim]] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_report: Callable[[ChainReport], None] | None = None,
    thorough: bool = False,
) -> LedgerReport:
    """Verify each client's chain; ``extra_anchors`` maps client ids to anchors.
    ``on_report`` sees each client's report as soon as it is made (for progress).
    ``thorough`` compares every stored body with its columns even while the database
    guards them (for a database whose guards may have been lifted and put back)."""
    extra_anchors = extra_anchors or {}
    result = LedgerReport()
    guarded = not thorough and agreement_guarded()
    for client in clients:
        report = verify_client(
            client,
            extra_anchors=extra_anchors.get(client.pk, ()),
            chunk_size=chunk_size,
            guarded=guarded,
        )
        result.add(report)
        if on_report is not None:
            on_report(report)
    return result


def verify_all(
    *,
    extra_anchors: Mapping[int, Sequence[AnchorClaim]] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_report: Callable[[ChainReport], None] | None = None,
    thorough: bool = False,
) -> LedgerReport:
    """Verify the chain of every client, in id order."""
    clients = Client.objects.order_by("pk").only("pk", "uuid", "name")
    return verify_clients(
        clients.iterator(chunk_size=500),
        extra_anchors=extra_anchors,
        chunk_size=chunk_size,
        on_report=on_report,
        thorough=thorough,
    )
