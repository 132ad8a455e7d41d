from django.db import models


class ReportOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    UNCHANGED = "unchanged", "Unchanged (same inventory as the last report)"


class ReportSource(models.TextChoices):
    COLLECTOR = "collector", "Collector (signed POST)"
    FILE = "file", "Imported file"


class ReviewReason(models.TextChoices):
    NAME_CLASH = "name_clash", "MachineGuid claimed by a second computer name"
    OTHER_CLIENT = "other_client", "MachineGuid belongs to another client"


class DeviceState(models.TextChoices):
    COMPLIANT = "compliant", "Compliant"
    NOT_COMPLIANT = "not_compliant", "Not compliant"
    UNKNOWN = "unknown", "Unknown"
    STALE = "stale", "Stale"
