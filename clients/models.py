from __future__ import annotations

import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from clients.choices import Language, QbrCadence
from clients.policy import RESPONSE_DAYS, Policy


def validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone {value!r}.", code="time_zone") from None


class Client(models.Model):
    """A customer company of the MSP."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    industry = models.CharField(max_length=100, blank=True)
    regulated = models.BooleanField(
        default=False, help_text="Health, finance or another regulated sector."
    )
    account_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_clients",
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="assigned_clients",
        help_text="Technicians who work on this client.",
    )
    qbr_cadence_months = models.PositiveSmallIntegerField(
        choices=QbrCadence.choices, default=QbrCadence.QUARTERLY
    )
    time_zone = models.CharField(
        max_length=64, default="Europe/Rome", validators=[validate_time_zone]
    )
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    # The client's company in the PSA (Autotask's CompanyID): its tickets are opened
    # there. Empty: the installation's default company (HEEDED_AUTOTASK_COMPANY_ID).
    psa_company_id = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class ClientDomain(models.Model):
    """An e-mail domain of a client, used to decide whether a sender speaks for it."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class Contact(models.Model):
    """A person at a client who may answer recommendations."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    job_title = models.CharField(max_length=120, blank=True)
    is_decision_maker = models.BooleanField(default=False)
    is_escalation_contact = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # Blank: the client's language. What this person reads, when it differs.
    language = models.CharField(max_length=2, choices=Language.choices, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["client_id", "name"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"), "client", name="contact_unique_email_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def effective_language(self) -> str:
        """The contact's own language, or else its client's."""
        return self.language or self.client.language


class ClientPolicy(models.Model):
    """A client's contract tier: overrides of the default follow-up policy
    (``clients.policy.DEFAULT``). Blank day counts keep the default."""

    client = models.OneToOneField(
        "clients.Client", on_delete=models.CASCADE, related_name="followup_policy"
    )
    tier = models.CharField(max_length=60, help_text="Contract tier, e.g. 'Gold'.")
    critical_days = models.PositiveSmallIntegerField(null=True, blank=True)
    high_days = models.PositiveSmallIntegerField(null=True, blank=True)
    medium_days = models.PositiveSmallIntegerField(null=True, blank=True)
    low_days = models.PositiveSmallIntegerField(null=True, blank=True)
    business_days = models.BooleanField(default=False)
    reminders = models.BooleanField(default=True)
    level2_after_days = models.PositiveSmallIntegerField(default=3)
    level3_after_days = models.PositiveSmallIntegerField(default=4)
    max_deferrals = models.PositiveSmallIntegerField(default=2)
    rejection_review_months = models.PositiveSmallIntegerField(default=12)
    review_at_next_qbr = models.BooleanField(default=False)
    # Quiet settings: follow-up about these severities (comma-separated, e.g. "low")
    # reaches the client's contacts once a week, on ``weekly_weekday`` (0 = Monday).
    weekly_severities = models.CharField(max_length=40, blank=True, default="")
    weekly_weekday = models.PositiveSmallIntegerField(default=0)

    class Meta:
        # The table keeps the name it was created with in the follow-up app.
        db_table = "followup_clientpolicy"

    def __str__(self) -> str:
        return f"{self.tier} policy of {self.client_id}"

    def as_policy(self) -> Policy:
        """The defaults with this row's overrides applied."""
        days = {str(k): v for k, v in RESPONSE_DAYS.items()}
        for severity in list(days):
            value = getattr(self, f"{severity}_days")
            if value:
                days[severity] = value
        return Policy(
            response_days=days,
            business_days=self.business_days,
            reminders=self.reminders,
            level2_after_days=self.level2_after_days,
            level3_after_days=self.level3_after_days,
            max_deferrals=self.max_deferrals,
            rejection_review_months=self.rejection_review_months,
            review_at_next_qbr=self.review_at_next_qbr,
            weekly_severities=tuple(s for s in self.weekly_severities.split(",") if s),
            weekly_weekday=self.weekly_weekday,
        )
