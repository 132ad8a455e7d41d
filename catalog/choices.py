from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class Category(models.TextChoices):
    IDENTITY = "identity", _("Identity and access")
    EMAIL = "email", _("E-mail security")
    ENDPOINT = "endpoint", _("Endpoint protection")
    PATCHING = "patching", _("Patching and vulnerabilities")
    BACKUP = "backup", _("Backup and recovery")
    NETWORK = "network", _("Network")
    DATA = "data", _("Data protection")
    PEOPLE = "people", _("People and awareness")
    GOVERNANCE = "governance", _("Governance")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    BOOLEAN = "boolean", _("Yes / no")


class Framework(models.TextChoices):
    CIS_V8 = "CIS v8", "CIS Controls v8"
    NIST_CSF_2 = "NIST CSF 2.0", "NIST CSF 2.0"
