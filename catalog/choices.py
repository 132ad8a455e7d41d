from django.db import models


class Severity(models.TextChoices):
    CRITICAL = "critical", "Critical"
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


SEVERITY_ORDER = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


class Category(models.TextChoices):
    IDENTITY = "identity", "Identity and access"
    EMAIL = "email", "E-mail security"
    ENDPOINT = "endpoint", "Endpoint protection"
    PATCHING = "patching", "Patching and vulnerabilities"
    BACKUP = "backup", "Backup and recovery"
    NETWORK = "network", "Network"
    DATA = "data", "Data protection"
    PEOPLE = "people", "People and awareness"
    GOVERNANCE = "governance", "Governance"


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    CHOICE = "choice", "Choice"
    BOOLEAN = "boolean", "Yes / no"


class Framework(models.TextChoices):
    CIS_V8 = "CIS v8", "CIS Controls v8"
    NIST_CSF_2 = "NIST CSF 2.0", "NIST CSF 2.0"
