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
"""

from __future__ import annotations

import contextlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import connection, transaction
from django.db.models import Subquery

from clients.models import Client
from ledger.models import GENESIS_HASH, Anchor, Event, Head
from lib.canonical import NotCanonical

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


def verify_client(
    client: Client,
    *,
    extra_anchors: Sequence[AnchorClaim] = (),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ChainReport:
    """Verify one client's chain against its head row, its stored anchors and
    ``extra_anchors``; return a ChainReport naming the first bad event, if any."""
    with _read_scope():
        # Anchors are read before the events: every anchor read here points at a
        # head that was committed before, so the events read next include it.
        claims, anchor_count = _claims_by_seq(client, extra_anchors)
        head_before = Head.objects.filter(client_id=client.pk).values_list("seq", "hash").first()
        # The head travels with every event row, from one statement and so from one
        # snapshot: an append committed while we read cannot make the head and the
        # chain disagree. The subqueries do not depend on the row, so each database
        # evaluates them once.
        head = Head.objects.filter(client_id=client.pk)
        rows = (
            Event.objects.filter(client_id=client.pk)
            .order_by("seq")
            .annotate(
                head_seq=Subquery(head.values("seq")[:1]),
                head_hash=Subquery(head.values("hash")[:1]),
            )
            .iterator(chunk_size=chunk_size)
        )
        try:
            return _walk(client, rows, claims, anchor_count, head_before)
        finally:
            rows.close()


def _walk(
    client: Client,
    rows: Iterator[Event],
    claims: Mapping[int, list[AnchorClaim]],
    anchor_count: int,
    head_before: tuple[int, str] | None,
) -> ChainReport:
    client_uuid = str(client.uuid)
    head: tuple[int, str] | None = None
    head_known = False
    expected = 1
    prev_hash = GENESIS_HASH
    checked = 0

    def report(bad_seq: int | None = None, reason: Reason | None = None, detail: str = ""):
        seq, digest = head if head is not None else (0, GENESIS_HASH)
        return ChainReport(
            client_id=client.pk,
            client_name=client.name,
            events=checked,
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

    for event in rows:
        if not head_known:
            head_known = True
            if event.head_seq is None:
                return report(
                    event.seq, Reason.HEAD_MISSING, "the chain has events but no head row"
                )
            head = (event.head_seq, event.head_hash)
        seq = event.seq
        if seq != expected:
            if seq > expected:
                detail = f"event {expected} is missing (the next stored event is {seq})"
                return report(expected, Reason.GAP, detail)
            detail = f"found seq {seq} where {expected} was expected"
            return report(seq, Reason.OUT_OF_ORDER, detail)
        if event.prev_hash != prev_hash:
            if seq == 1:
                detail = "the first event's prev_hash is not the genesis hash"
            else:
                detail = f"prev_hash is not the hash of event {seq - 1}"
            return report(seq, Reason.BROKEN_LINK, detail)
        try:
            computed = event.compute_hash(client_uuid)
        except (NotCanonical, TypeError, ValueError) as exc:
            return report(seq, Reason.HASH_MISMATCH, f"the event cannot be hashed ({exc})")
        if computed != event.hash:
            return report(seq, Reason.HASH_MISMATCH, "stored hash differs from the recomputed hash")
        head_seq, head_hash = head
        if seq == head_seq and event.hash != head_hash:
            return report(seq, Reason.HEAD_DIFFERS, f"the head at seq {seq} has another hash")
        if seq == head_seq + 1:
            detail = f"the head is at seq {head_seq} but the chain continues"
            return report(seq, Reason.BEYOND_HEAD, detail)
        for claim in claims.get(seq, ()):
            if claim.hash != event.hash:
                return report(seq, Reason.DIFFERS_FROM_ANCHOR, _differs(claim, event.hash))
        prev_hash = event.hash
        expected += 1
        checked += 1

    last = expected - 1
    if not head_known:
        head = head_before
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
) -> LedgerReport:
    """Verify each client's chain; ``extra_anchors`` maps client ids to anchors.
    ``on_report`` sees each client's report as soon as it is made (for progress)."""
    extra_anchors = extra_anchors or {}
    result = LedgerReport()
    for client in clients:
        report = verify_client(
            client, extra_anchors=extra_anchors.get(client.pk, ()), chunk_size=chunk_size
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
) -> LedgerReport:
    """Verify the chain of every client, in id order."""
    clients = Client.objects.order_by("pk").only("pk", "uuid", "name")
    return verify_clients(
        clients.iterator(chunk_size=500),
        extra_anchors=extra_anchors,
        chunk_size=chunk_size,
        on_report=on_report,
    )
