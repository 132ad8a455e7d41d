from __future__ import annotations

from django.db import models

from lib.canonical import CanonicalJSONEncoder, canonical_json, sha256_hex, utc_timestamp

GENESIS_HASH = "0" * 64
FORMAT_VERSION = 1


class Event(models.Model):
    """One append-only entry of a client's hash chain (see docs/ledger.md).

    Database triggers refuse UPDATE and DELETE on this table; rows are only ever
    inserted by ``ledger.services.event_append``.
    """

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=60)
    at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    recommendation = models.ForeignKey(
        "recommendations.Recommendation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    # Stored as its canonical text where the database keeps JSON as text (SQLite), so
    # the verifier can rebuild the body without parsing it.
    data = models.JSONField(default=dict, encoder=CanonicalJSONEncoder)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # The canonical JSON bytes of ``body()``, as hashed when the event was appended; a
    # copy the verifier hashes without re-encoding, after checking that it still says
    # what the columns above say. Null for events appended before it existed.
    body_bytes = models.BinaryField(null=True, editable=False)

    class Meta:
        ordering = ["client_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["client", "seq"], name="ledger_event_unique_seq"),
        ]
        indexes = [models.Index(fields=["recommendation", "seq"], name="ledger_event_by_rec")]

    def __str__(self) -> str:
        return f"{self.client_id}#{self.seq} {self.kind}"

    def body(self, client_uuid: str) -> dict:
        """The event as the dict that is hashed: every field except the hashes."""
        return {
            "v": FORMAT_VERSION,
            "client": client_uuid,
            "seq": self.seq,
            "kind": self.kind,
            "at": utc_timestamp(self.at),
            "actor": self.actor,
            "recommendation": self.recommendation_id,
            "data": self.data,
        }

    def compute_hash(self, client_uuid: str) -> str:
        """sha256(prev_hash ‖ canonical JSON of the body), as lower-case hex."""
        return sha256_hex(self.prev_hash.encode("ascii") + canonical_json(self.body(client_uuid)))


class Head(models.Model):
    """The latest (seq, hash) of a client's chain; its row is the append lock."""

    client = models.OneToOneField(
        "clients.Client", on_delete=models.PROTECT, primary_key=True, related_name="ledger_head"
    )
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"{self.seq} {self.hash}"


class Anchor(models.Model):
    """A head hash that left the system (an e-mail, a report, a pack).

    The receiver holds a copy, so the chain can never become shorter than, or
    different from, any anchor without verification noticing.
    """

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    purpose = models.CharField(max_length=60)
    reference = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["client_id", "seq"]
        indexes = [models.Index(fields=["client", "seq"], name="ledger_anchor_by_client")]

    def __str__(self) -> str:
        return f"{self.client_id}:{self.seq}:{self.hash}"
