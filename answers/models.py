"""Client answers: signed links, proof of each attempt, portal sign-in codes,
authority rules, proposals, meetings and inbound e-mail kept as evidence."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from answers.choices import LinkState, Outcome, ProposalStatus
from recommendations.choices import Channel, Decision


class AnswerLink(models.Model):
    """A signed link sent to one contact for one recommendation, or for a batch of
    them. Only the SHA-256 of its token is stored; it works once and expires."""

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(
        "clients.Contact", on_delete=models.PROTECT, related_name="answer_links"
    )
    recommendations = models.ManyToManyField(
        "recommendations.Recommendation", related_name="answer_links"
    )
    is_batch = models.BooleanField(default=False)
    token_sha256 = models.CharField(max_length=64, unique=True)
    # The token is made from this nonce and the secret key at delivery (lib.sealed);
    # blank for links made before tokens were sealed.
    token_nonce = models.CharField(max_length=32, blank=True, default="")
    # The reply-to token identifies this link's presentation and contact for e-mail
    # replies; it is a lookup key, not a credential (authentication comes from DMARC).
    reply_token = models.CharField(max_length=40, unique=True)
    # {recommendation id: text_sha256} as presented; the page refuses if it changed.
    text_sha256 = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    response = models.ForeignKey(
        "recommendations.Response",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"link {self.pk} for {self.contact_id}"

    def state(self, now: dt.datetime) -> str:
        """used once answered (whatever the time), expired past ``expires_at``, else open."""
        if self.used_at is not None:
            return LinkState.USED
        if now >= self.expires_at:
            return LinkState.EXPIRED
        return LinkState.OPEN


class LinkAttempt(models.Model):
    """Every request to an answer link or portal form, successful or refused."""

    link = models.ForeignKey(
        AnswerLink, null=True, blank=True, on_delete=models.PROTECT, related_name="attempts"
    )
    at = models.DateTimeField()
    method = models.CharField(max_length=8)
    outcome = models.CharField(max_length=20)
    detail = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.method} {self.outcome} at {self.at:%Y-%m-%d %H:%M}"


class Submission(models.Model):
    """The evidence of a web answer: the exact form posted, encrypted at rest."""

    channel = models.CharField(max_length=20, choices=Channel.choices)
    link = models.ForeignKey(
        AnswerLink, null=True, blank=True, on_delete=models.PROTECT, related_name="submissions"
    )
    contact = models.ForeignKey("clients.Contact", on_delete=models.PROTECT, related_name="+")
    recommendation = models.ForeignKey(
        "recommendations.Recommendation", on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    text_sha256 = models.CharField(max_length=64)
    payload_encrypted = models.BinaryField()
    payload_sha256 = models.CharField(max_length=64)
    # What this submission became, set in the transaction that recorded it. Pages follow
    # these keys, never a Response's or Proposal's free-text ``evidence_ref``, which staff
    # may type anything into (another client's "submission:N" included).
    response = models.ForeignKey(
        "recommendations.Response",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    proposal = models.ForeignKey(
        "Proposal", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} answer to {self.recommendation_id} at {self.at:%Y-%m-%d %H:%M}"


class AuthorityRule(models.Model):
    """Which severities a contact may decide. A client without any rule lets every
    active decision maker decide everything."""

    client = models.ForeignKey(
        "clients.Client", on_delete=models.CASCADE, related_name="authority_rules"
    )
    contact = models.ForeignKey(
        "clients.Contact", on_delete=models.CASCADE, related_name="authority_rules"
    )
    severities = models.JSONField(default=list, help_text="Severities this contact may decide.")

    class Meta:
        ordering = ["client_id", "contact_id"]
        constraints = [
            models.UniqueConstraint(fields=["contact"], name="authority_one_rule_per_contact")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} may decide {', '.join(self.severities) or 'nothing'}"

    def allows(self, severity: str) -> bool:
        return severity in self.severities


class AnswerPolicy(models.Model):
    """Per-client answer settings."""

    client = models.OneToOneField(
        "clients.Client", on_delete=models.CASCADE, related_name="answer_policy"
    )
    dual_approval_reject_critical = models.BooleanField(
        default=False,
        help_text="Rejecting a critical item needs two different authorised contacts.",
    )

    def __str__(self) -> str:
        return f"answer policy of {self.client_id}"


class Proposal(models.Model):
    """An answer that did not change the state: from a contact without authority, or
    the first half of a dual approval. It is routed to an authorised contact."""

    recommendation = models.ForeignKey(
        "recommendations.Recommendation", on_delete=models.PROTECT, related_name="proposals"
    )
    contact = models.ForeignKey("clients.Contact", on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    planned_for = models.DateField(null=True, blank=True)
    deferred_until = models.DateField(null=True, blank=True)
    justification = models.TextField(blank=True)
    responder_name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    evidence_ref = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=200)
    status = models.CharField(
        max_length=12, choices=ProposalStatus.choices, default=ProposalStatus.OPEN
    )
    routed_to = models.JSONField(default=list)
    created_at = models.DateTimeField()
    response = models.ForeignKey(
        "recommendations.Response",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"proposal to {self.decision} {self.recommendation_id} ({self.status})"


class PortalCode(models.Model):
    """A one-time sign-in code for the client portal; only its hash is stored."""

    contact = models.ForeignKey(
        "clients.Contact", on_delete=models.CASCADE, related_name="portal_codes"
    )
    code_sha256 = models.CharField(max_length=64, unique=True)
    code_nonce = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"portal code for {self.contact_id}"


class Meeting(models.Model):
    """Decisions taken in a meeting or by phone, recorded by staff."""

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    held_on = models.DateField()
    attendees = models.TextField()
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} on {self.held_on}"


class InboundMessage(models.Model):
    """One e-mail received, counted or not: always kept raw (encrypted) as evidence."""

    received_at = models.DateTimeField()
    raw_encrypted = models.BinaryField()
    raw_sha256 = models.CharField(max_length=64)
    message_id = models.CharField(max_length=998, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    client = models.ForeignKey(
        "clients.Client", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recommendation = models.ForeignKey(
        "recommendations.Recommendation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    contact = models.ForeignKey(
        "clients.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    link = models.ForeignKey(
        AnswerLink, null=True, blank=True, on_delete=models.PROTECT, related_name="replies"
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    verification = models.JSONField(default=dict, blank=True)
    response = models.ForeignKey(
        "recommendations.Response",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["outcome", "reviewed_at"], name="inbound_review_queue"),
        ]
        constraints = [
            # The same bytes delivered twice (an MTA retry, a replay) are one message.
            models.UniqueConstraint(fields=["raw_sha256"], name="inbound_unique_raw_sha256"),
            # A reply counts once by its Message-ID (signed, or as the trusted server
            # delivered it); the same one in other bytes is kept but never counts again.
            models.UniqueConstraint(
                fields=["client", "message_id"],
                condition=models.Q(outcome__in=["recorded", "proposal"]) & ~models.Q(message_id=""),
                name="inbound_message_id_counts_once",
            ),
        ]

    def __str__(self) -> str:
        return f"inbound {self.pk} ({self.outcome})"
