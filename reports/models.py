from __future__ import annotations

from django.conf import settings
from django.db import models


class ReportKind(models.TextChoices):
    QBR = "qbr", "QBR"
    OPEN_RISKS = "open_risks", "Open risks"


class ComplianceSnapshot(models.Model):
    """A client's compliance on one day (in the client's time zone): the score and the
    counts behind it. Written by ``reports.services.compliance_snapshot_take`` (one row
    per client and day, whatever how often it runs) and by the history back-fill."""

    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    # Percent with one decimal, None when the client had no active recommendation.
    score = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    active = models.PositiveIntegerField(default=0)
    by_status = models.JSONField(default=dict)
    by_severity = models.JSONField(default=dict)
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["client_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["client", "day"], name="snapshot_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"compliance of client {self.client_id} on {self.day}: {self.score}"


class DeliveredReport(models.Model):
    """A report file that left Heeded: kept byte for byte with its SHA-256 and the
    ledger anchor printed on it. Never regenerated: a download serves these bytes."""

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        HTML = "html", "HTML"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, default="qbr")
    period_start = models.DateField()
    period_end = models.DateField()
    period_label = models.CharField(max_length=40)
    format = models.CharField(max_length=4, choices=Format.choices)
    language = models.CharField(max_length=2)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    anchor = models.ForeignKey("ledger.Anchor", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=20, help_text="web, cli or schedule")
    # Set on scheduled reports: "<kind>:<client>:<period>", once per client, kind and
    # period however often the worker runs (the e-mail carrying it has the same key).
    schedule_key = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["client", "-created_at"], name="report_by_client")]

    def __str__(self) -> str:
        return f"{self.kind} {self.period_label} of client {self.client_id} ({self.format})"

    @property
    def filename(self) -> str:
        prefix = "open-risks" if self.kind == ReportKind.OPEN_RISKS else "qbr"
        return f"{prefix}-{self.period_label}-{self.pk}.{self.format}"


class ReportSchedule(models.Model):
    """Which reports the worker e-mails a client, and to whom: the QBR of each past
    month and/or quarter, and a monthly open-risks report, as PDF attachments to the
    chosen contacts and (optionally) the client's account owner."""

    client = models.OneToOneField(
        "clients.Client", on_delete=models.CASCADE, related_name="report_schedule"
    )
    monthly = models.BooleanField(default=False)
    quarterly = models.BooleanField(default=False)
    open_risks = models.BooleanField(default=False)
    contacts = models.ManyToManyField("clients.Contact", blank=True, related_name="+")
    to_account_owner = models.BooleanField(default=True)
    # Reports of periods ending before this day are never sent: enabling a schedule
    # does not mail last year's quarters.
    starts_on = models.DateField()
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"report schedule of client {self.client_id}"
