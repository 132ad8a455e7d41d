from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from followup.choices import OutboxKind, OutboxStatus
from lib import crypto


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


class FollowupStep(models.Model):
    """One step the sweep acted on (a reminder, an escalation level, an expiry).

    The UNIQUE (recommendation, key) constraint is the claim: a step is inserted in
    the same transaction as its effects, so however many sweeps run, each step of
    each cycle happens exactly once. ``notified_at`` stays empty until the grouped
    notice naming it has been queued (the sweep's second phase), so a crash between
    the two phases loses nothing: the next sweep finds the step still to announce.
    """

    recommendation = models.ForeignKey(
        "recommendations.Recommendation", on_delete=models.PROTECT, related_name="followup_steps"
    )
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=120)
    cycle = models.CharField(max_length=80)
    name = models.CharField(max_length=20)
    level = models.PositiveSmallIntegerField(default=0)
    due_at = models.DateTimeField()
    acted_at = models.DateTimeField()
    worker = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    notices = models.ManyToManyField(OutboxMessage, blank=True, related_name="followup_steps")

    class Meta:
        ordering = ["acted_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["recommendation", "key"], name="step_once_per_cycle"),
        ]
        indexes = [
            models.Index(
                fields=["client", "name"],
                name="step_to_notify",
                condition=Q(notified_at__isnull=True),
            ),
            # The planning pass reads the steps not yet told, by id: through this index
            # an idle sweep reads none of the steps already told (SQLite otherwise
            # scanned them all, and an idle pass grew with the steps ever taken).
            models.Index(
                fields=["id"],
                name="step_unnotified",
                condition=Q(notified_at__isnull=True),
            ),
            models.Index(fields=["recommendation", "cycle"], name="step_rec_cycle"),
        ]

    def __str__(self) -> str:
        return f"{self.key} of recommendation {self.recommendation_id}"


class NoticeItem(models.Model):
    """One follow-up step to be told to one person: the unit of the daily notice.

    The sweep's second phase writes one row per step and recipient (UNIQUE: a step is
    never listed twice to the same person), then gathers each person's open rows into
    at most one message a day, which it names in ``message`` in the same transaction
    that queues it. A row whose ``message`` is empty is still to tell: a later notice
    (the next day's, or the client's weekly day for a quiet severity) carries it.
    """

    step = models.ForeignKey(FollowupStep, on_delete=models.CASCADE, related_name="notice_items")
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    audience = models.CharField(max_length=10)  # "client" or "staff"
    recipient = models.EmailField()  # lower case
    contact = models.ForeignKey(
        "clients.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    message = models.ForeignKey(
        OutboxMessage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["step", "audience", "recipient"], name="notice_item_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["audience", "recipient"],
                name="notice_item_open",
                condition=Q(message__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"step {self.step_id} to {self.recipient}"


class TicketStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("a ticket", "Open")
    PLANNED = "planned", _("Planned (accepted)")
    WAITING = "waiting", _("Waiting (deferred)")
    CLOSED = "closed", pgettext_lazy("a ticket", "Closed")


class Ticket(models.Model):
    """A unit of follow-up work on one recommendation, built in (optionally mirrored
    to a PSA through ``external_ref``). At most one is open per recommendation: it is
    updated, never duplicated."""

    recommendation = models.ForeignKey(
        "recommendations.Recommendation", on_delete=models.PROTECT, related_name="tickets"
    )
    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=250)
    status = models.CharField(
        max_length=10, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    escalation_level = models.PositiveSmallIntegerField(default=0)
    assignee = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    external_ref = models.CharField(max_length=100, blank=True)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recommendation"],
                condition=~Q(status="closed"),
                name="ticket_one_open_per_recommendation",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "updated_at"], name="ticket_status_updated"),
            models.Index(fields=["assignee", "status"], name="ticket_assignee_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"


class TicketNote(models.Model):
    """A line in a ticket's history: who, when, what."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="notes")
    at = models.DateTimeField()
    author = models.CharField(max_length=150)
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"note on #{self.ticket_id} by {self.author}"


class WebhookKind(models.TextChoices):
    STANDARD = "standard", "Signed JSON (Standard Webhooks)"
    SLACK = "slack", "Slack incoming webhook"
    TEAMS = "teams", "Microsoft Teams incoming webhook"


class WebhookEndpoint(models.Model):
    """Where lifecycle and escalation events are POSTed. ``standard`` endpoints get
    every event (or those listed in ``event_types``), signed with ``secret``; chat
    endpoints (Slack, Teams) get a short text for critical items only."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    kind = models.CharField(max_length=10, choices=WebhookKind.choices)
    # The whsec_ signing secret, sealed with HEEDED_ENCRYPTION_KEYS (lib.crypto): it
    # must be known to sign, so it cannot be hashed, and a dump must not reveal it.
    secret = models.TextField(blank=True, help_text="The whsec_ secret, sealed (lib.crypto).")
    event_types = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def signing_secret(self) -> str:
        """The plain whsec_ secret ("" for a chat endpoint); raises
        ``crypto.InvalidToken`` when it was sealed with a key no longer configured."""
        return crypto.decrypt(self.secret.encode("ascii")).decode("ascii") if self.secret else ""


class PsaCallback(models.Model):
    """A status callback received from the PSA, kept once per ``webhook-id``: a
    repeated delivery of the same callback is recognised and changes nothing."""

    webhook_id = models.CharField(max_length=100, unique=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="psa_callbacks")
    received_at = models.DateTimeField()
    payload = models.JSONField()

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"PSA callback {self.webhook_id} for ticket {self.ticket_id}"


class JobRun(models.Model):
    """One run of a periodic worker job (``followup.jobs``) for one period.

    The UNIQUE (job, period) row is the claim: however many workers run, one of them
    runs a job for a period. A worker that dies mid-run leaves ``finished_at`` empty;
    once ``lease_until`` has passed another worker takes the run over (``attempts``
    counts the tries). Jobs are idempotent per their own keys, so a run taken over
    redoes only what the dead worker had not committed.
    """

    job = models.CharField(max_length=60)
    period = models.CharField(max_length=40)
    claimed_by = models.CharField(max_length=100)
    attempts = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField()
    lease_until = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "period"], name="job_once_per_period"),
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.period} ({'done' if self.finished_at else self.claimed_by})"
