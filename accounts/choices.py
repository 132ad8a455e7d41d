from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    ACCOUNT_MANAGER = "account_manager", "Account manager"
    TECHNICIAN = "technician", "Technician"
    AUDITOR = "auditor", "Auditor (read-only)"


class Language(models.TextChoices):
    """The languages of the staff interface; empty on a user means "the browser's"."""

    EN = "en", "English"
    IT = "it", "Italiano"
