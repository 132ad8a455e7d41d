from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    UNCHANGED = "unchanged", _("Unchanged (same inventory as the last report)")


class ReportSource(models.TextChoices):
    COLLECTOR = "collector", _("Collector (signed POST)")
    FILE = "file", _("Imported file")


class ReviewReason(models.TextChoices):
    NAME_CLASH = "name_clash", _("MachineGuid claimed by a second computer name")
    OTHER_CLIENT = "other_client", _("MachineGuid belongs to another client")


class DeviceState(models.TextChoices):
    COMPLIANT = "compliant", _("Compliant")
    NOT_COMPLIANT = "not_compliant", _("Not compliant")
    UNKNOWN = "unknown", _("Unknown")
    STALE = "stale", _("Stale")
