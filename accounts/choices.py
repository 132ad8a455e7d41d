from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    ACCOUNT_MANAGER = "account_manager", "Account manager"
    TECHNICIAN = "technician", "Technician"
    AUDITOR = "auditor", "Auditor (read-only)"
