"""Devices, the reports they send, what they have installed, Microsoft's update data,
and what the rules make of it (docs/collector.md)."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q

from verification.choices import DeviceState, ReportOutcome, ReportSource, ReviewReason
from verification.scores import DeviceScore


class EnrollmentToken(models.Model):
    """A client's collector credential. The raw token is shown once; only its SHA-256
    digest is kept, and that digest is the HMAC key the collector signs with."""

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="enrollment_tokens"
    )
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.name})"

    def is_active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None


class Device(models.Model):
    """A client's endpoint, known by its MachineGuid (HKLM\\SOFTWARE\\Microsoft\\Cryptography)."""

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="devices")
    machine_guid = models.CharField(max_length=64, unique=True)
    computer_name = models.CharField(max_length=255)
    os_caption = models.CharField(max_length=255, blank=True)
    os_build = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=list, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    # Digest of the last inventory (hotfixes + checks + identity): an unchanged report
    # is recognised by it before anything is written.
    inventory_hash = models.CharField(max_length=64, blank=True)
    # Set by ingest when the inventory changed, cleared by the verify pass: the pass
    # reads only what changed since it last ran (partial index below).
    needs_evaluation = models.BooleanField(default=True)
    hotfixes_known = models.BooleanField(default=False)
    # Set by the verify pass once it has counted the device as stale, cleared by the
    # next report: a device crossing the staleness line is read once, not every pass.
    counted_stale = models.BooleanField(default=False)
    bitlocker_on = models.BooleanField(null=True, blank=True)
    smb1_enabled = models.BooleanField(null=True, blank=True)
    defender_rtp_on = models.BooleanField(null=True, blank=True)
    firewall = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["computer_name", "id"]
        indexes = [
            models.Index(
                fields=["client"],
                name="device_needs_evaluation",
                condition=Q(needs_evaluation=True),
            ),
            models.Index(fields=["last_seen"], name="device_last_seen"),
            # An unchanged collector report finds its device by the body's fingerprint
            # (services.collector_report_receive), before the body is parsed.
            models.Index(fields=["client", "inventory_hash"], name="device_inventory_hash"),
        ]

    def __str__(self) -> str:
        return self.computer_name

    def is_stale(self, now: dt.datetime, stale_after: dt.timedelta) -> bool:
        """True when the last report is older than ``stale_after`` at ``now``."""
        return self.last_seen < now - stale_after


class DeviceRename(models.Model):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="renames")
    at = models.DateTimeField()
    old_name = models.CharField(max_length=255)
    new_name = models.CharField(max_length=255)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.old_name} → {self.new_name}"


class InstalledHotfix(models.Model):
    """One line of Get-HotFix for a device. ``kb`` is the number of a KB id; other ids
    (``File 1``, ``Q123456``) are kept with ``kb`` empty and ``flagged`` set."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="hotfixes")
    hotfix_id = models.CharField(max_length=64)
    kb = models.PositiveIntegerField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    description = models.CharField(max_length=255, blank=True)
    installed_by = models.CharField(max_length=255, blank=True)
    installed_on_raw = models.CharField(max_length=100, blank=True)
    installed_on = models.DateField(null=True, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["hotfix_id"]
        constraints = [
            models.UniqueConstraint(fields=["device", "hotfix_id"], name="hotfix_once_per_device")
        ]
        indexes = [models.Index(fields=["kb"], name="hotfix_kb")]

    def __str__(self) -> str:
        return self.hotfix_id


class EndpointReport(models.Model):
    """One accepted document. A document seen before (same digest for the client) is
    answered as a repeat and leaves no row: sending it twice changes nothing."""

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="reports")
    token = models.ForeignKey(
        EnrollmentToken, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=10, choices=ReportSource.choices)
    document_hash = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=ReportOutcome.choices)
    hotfix_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "document_hash"], name="report_once_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.document_hash[:12]} ({self.outcome})"


class ReviewItem(models.Model):
    """A report refused because its identity clashes; kept whole for a person to judge."""

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    machine_guid = models.CharField(max_length=64)
    computer_name = models.CharField(max_length=255)
    reason = models.CharField(max_length=20, choices=ReviewReason.choices)
    detail = models.TextField()
    document = models.JSONField()
    received_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.computer_name}: {self.reason}"


class MsrcDocument(models.Model):
    """One imported CVRF document (``2026-Feb``), kept by its id and revision."""

    document_id = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=255)
    current_release = models.CharField(max_length=40)
    imported_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.document_id


class MsrcProduct(models.Model):
    product_id = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=255)

    def __str__(self) -> str:
        return self.name


class MsrcRemediation(models.Model):
    """A vendor fix of one CVE for one product: a KB (``kb``) or free text, the KB it
    supersedes and the build that has it."""

    document = models.ForeignKey(MsrcDocument, on_delete=models.CASCADE, related_name="+")
    cve = models.CharField(max_length=30)
    product_id = models.CharField(max_length=20)
    kb = models.PositiveIntegerField(null=True, blank=True)
    description = models.CharField(max_length=255)
    supersedes = models.PositiveIntegerField(null=True, blank=True)
    fixed_build = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["cve", "product_id", "description"], name="msrc_remediation_once"
            )
        ]
        indexes = [
            models.Index(fields=["cve"], name="msrc_remediation_cve"),
            models.Index(fields=["supersedes"], name="msrc_remediation_supersedes"),
        ]

    def __str__(self) -> str:
        return f"{self.cve} {self.description}"


class DeviceCompliance(models.Model):
    """What the verify pass last found for one recommendation on one device."""

    recommendation = models.ForeignKey(
        "recommendations.Recommendation", on_delete=models.CASCADE, related_name="+"
    )
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="compliance")
    state = models.CharField(max_length=15, choices=DeviceState.choices)
    detail = models.CharField(max_length=255, blank=True)
    evaluated_at = models.DateTimeField()

    class Meta:
        ordering = ["device__computer_name", "device_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recommendation", "device"], name="compliance_once_per_device"
            )
        ]

    def __str__(self) -> str:
        return self.state


class RecommendationCompliance(models.Model):
    """The counts behind a recommendation's verification, and whether its rule holds."""

    recommendation = models.OneToOneField(
        "recommendations.Recommendation", on_delete=models.CASCADE, related_name="+"
    )
    in_scope = models.PositiveIntegerField(default=0)
    compliant = models.PositiveIntegerField(default=0)
    not_compliant = models.PositiveIntegerField(default=0)
    unknown = models.PositiveIntegerField(default=0)
    stale = models.PositiveIntegerField(default=0)
    holds = models.BooleanField(default=False)
    rule_error = models.CharField(max_length=255, blank=True)
    evaluated_at = models.DateTimeField()
    applied_while_rejected_noted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.compliant}/{self.in_scope}"


class DeviceScoreDay(models.Model):
    """A client's device compliance at the end of one day of its own calendar: of the
    (device, rule) pairs the verify pass had evaluated, how many complied. Written
    once, by the first run of the ``device-score-history`` job after the client's
    local midnight (``services.device_score_history_take``), and never changed: a
    re-run finds the row and leaves it."""

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    compliant = models.PositiveIntegerField()
    evaluated = models.PositiveIntegerField()
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["client_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["client", "day"], name="device_score_once_per_day")
        ]

    def __str__(self) -> str:
        return f"device compliance of client {self.client_id} on {self.day}"

    @property
    def score(self) -> DeviceScore:
        return DeviceScore(compliant=self.compliant, evaluated=self.evaluated)
