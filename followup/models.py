from __future__ import annotations

from django.db import models
from django.db.models import Q

from followup.choices import OutboxKind, OutboxStatus


class OutboxMessage(models.Model):
    """A message that must leave Heeded, written in the transaction that caused it.

    Workers claim due rows, deliver them and record each attempt; ``idempotency_key``
    (and for e-mail the Message-ID derived from it) stays the same across retries so
    a receiver can recognise a repeat after a crash.
    """

    kind = models.CharField(max_length=10, choices=OutboxKind.choices)
    idempotency_key = models.CharField(max_length=200, unique=True)
    client = models.ForeignKey(
        "clients.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recommendation = models.ForeignKey(
        "recommendations.Recommendation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="outbox_messages",
    )
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due",
                condition=Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.idempotency_key} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at delivering an outbox message, successful or not."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["message_id", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.message_id}: {'ok' if self.ok else self.error}"
