from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.choices import Category, Severity
from clients.policy import Policy
from lib.canonical import canonical_json, sha256_hex
from lib.languages import Language
from recommendations import deadlines
from recommendations.choices import Channel, Decision, Status


def snapshot_sha256(*, title: str, body: str, risk_if_ignored: str) -> str:
    """SHA-256 of the text a client is shown (docs/ledger.md, "text hash")."""
    return sha256_hex(
        canonical_json({"title": title, "body": body, "risk_if_ignored": risk_if_ignored})
    )


class Recommendation(models.Model):
    """One piece of advice to one client. Its status changes only through
    ``recommendations.services``; see the transition table in ``lifecycle.py``."""

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="recommendations"
    )
    template_version = models.ForeignKey(
        "catalog.TemplateVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The snapshot: what the client is shown, frozen once presented.
    title = models.CharField(max_length=200)
    body = models.TextField()
    risk_if_ignored = models.TextField(blank=True)
    text_sha256 = models.CharField(max_length=64)
    # The language of title, body and risk: the client's own, or English when the
    # template version had no translation into it (the pages say so).
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    category = models.CharField(max_length=20, choices=Category.choices, blank=True)
    control_refs = models.JSONField(default=list, blank=True)
    verification_rule = models.TextField(blank=True)
    custom_fields = models.JSONField(default=list, blank=True)
    field_values = models.JSONField(default=dict, blank=True)

    severity = models.CharField(max_length=10, choices=Severity.choices)
    tags = models.JSONField(default=list, blank=True)
    scope = models.TextField(blank=True, help_text="Devices or sites this applies to.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_recommendations",
        help_text="Follow-up owner at the MSP.",
    )
    contact = models.ForeignKey(
        "clients.Contact",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recommendations",
        help_text="Point of contact at the client.",
    )
    external_id = models.CharField(max_length=100, blank=True)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    presented_at = models.DateTimeField(null=True, blank=True)
    response_due_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    planned_for = models.DateField(null=True, blank=True)
    planned_date_lapsed_on = models.DateField(null=True, blank=True)
    deferred_until = models.DateField(null=True, blank=True)
    deferral_count = models.PositiveIntegerField(default=0)
    review_at = models.DateTimeField(null=True, blank=True)
    work_started_at = models.DateTimeField(null=True, blank=True)
    implemented_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_reason = models.TextField(blank=True)
    next_action_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep asks "what is due, earliest first": a partial index keeps it
            # proportional to the open items, not to everything ever stored.
            models.Index(
                fields=["next_action_at"],
                name="rec_next_action_due",
                condition=Q(next_action_at__isnull=False),
            ),
            models.Index(fields=["client", "status"], name="rec_client_status"),
            models.Index(fields=["status", "severity"], name="rec_status_severity"),
            models.Index(fields=["owner", "status"], name="rec_owner_status"),
            # The pages' sorts and the dashboard's bounded range reads (issue 13): each
            # reads only as many index entries as it shows.
            models.Index(fields=["-created_at", "-id"], name="rec_newest_first"),
            models.Index(fields=["decided_at"], name="rec_decided_at"),
            models.Index(fields=["status", "response_due_at"], name="rec_status_response_due"),
            models.Index(fields=["status", "planned_for"], name="rec_status_planned_for"),
            models.Index(fields=["status", "deferred_until"], name="rec_status_deferred_until"),
            models.Index(fields=["owner", "next_action_at"], name="rec_owner_next_action"),
            # The client page's newest items of each status: a range read per status.
            models.Index(
                fields=["client", "status", "-created_at", "-id"], name="rec_client_status_newest"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "external_id"],
                condition=~Q(external_id=""),
                name="rec_unique_external_id_per_client",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def compute_next_action_at(self, policy: Policy, now: dt.datetime) -> dt.datetime | None:
        """When the follow-up engine must next look at this item under ``policy``.

        awaiting_response: the first step of the follow-up ladder still ahead at
        ``now`` (a reminder, else the deadline); deferred: the start of the deferral
        date in the client's time zone; accepted / in_progress: the start of the day
        after the planned date, until that lapse has been recorded; rejected: the
        re-review date; every other state: None (nothing is due). Reads nothing: the
        policy is an argument (``clients.policy.policy_for``).
        """
        step = deadlines.next_step(self, policy, now=now)
        return step.at if step else None

    def is_overdue(self, now: dt.datetime) -> bool:
        """True when awaiting a response past its due time, or accepted/in progress
        past its planned date (in the client's time zone); False in every other state."""
        return deadlines.is_overdue(
            status=self.status,
            response_due_at=self.response_due_at,
            planned_for=self.planned_for,
            tz=self.client.tz,
            now=now,
        )


class Response(models.Model):
    """A client's decision. Never edited: a change of mind is a new Response."""

    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.PROTECT, related_name="responses"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    justification = models.TextField(blank=True)
    planned_for = models.DateField(null=True, blank=True)
    deferred_until = models.DateField(null=True, blank=True)
    responder = models.ForeignKey(
        "clients.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="responses"
    )
    responder_name = models.CharField(max_length=200)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    attendees = models.TextField(blank=True)
    shown_text_sha256 = models.CharField(max_length=64)
    evidence_ref = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField()
    ledger_seq = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["recommendation_id", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.responder_name}"


class StatusTally(models.Model):
    """How many recommendations a client has per (status, severity): a counter kept by
    ``recommendations.tallies`` in the transaction of every creation and transition,
    so the dashboard and the lists read a few rows per client instead of counting
    recommendations. ``heeded counters rebuild`` recomputes it from scratch."""

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "status", "severity"], name="status_tally_once"
            ),
        ]

    def __str__(self) -> str:
        return f"client {self.client_id}: {self.n} {self.status} {self.severity}"


class PresentedTally(models.Model):
    """How many presented recommendations, over all clients, are in each (status,
    severity) by the UTC day they were presented: the dashboard's ages of open risk
    items are sums over day ranges of this table, kept like ``StatusTally``."""

    status = models.CharField(max_length=20, choices=Status.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    presented_on = models.DateField()
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["status", "severity", "presented_on"], name="presented_tally_once"
            ),
        ]
        # The dashboard reads the recent days of some statuses: a range per status.
        indexes = [models.Index(fields=["status", "presented_on"], name="presented_tally_recent")]

    def __str__(self) -> str:
        return f"{self.n} {self.status} {self.severity} presented {self.presented_on}"
